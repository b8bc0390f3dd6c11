#!/bin/bash
# detect-os: report the host OS (Linux or macOS) as KEY=VALUE lines in tmp-run-env.out.
# Sourced by cairn's wrapper with the work directory as the current directory.

detect_os_out="tmp-run-env.out"
: > "${detect_os_out}"

detect_os_emit() {
  printf '%s=%s\n' "$1" "$2" >> "${detect_os_out}"
}

# The value of KEY in an os-release file, without quotes (the file is read, never sourced).
detect_os_release() {
  sed -n "s/^$1=//p" "$2" | head -n 1 | tr -d "\"'"
}

detect_os_kernel="$(uname -s)"
detect_os_emit CM_HOST_OS_KERNEL_VERSION "$(uname -r)"
detect_os_emit CM_HOST_PLATFORM_FLAVOR "$(uname -m)"
detect_os_emit CM_HOST_OS_BITS "$(getconf LONG_BIT 2>/dev/null || echo 64)"
detect_os_emit CM_HOST_SYSTEM_NAME "$(uname -n)"

case "${detect_os_kernel}" in
  Linux)
    detect_os_emit CM_HOST_OS_TYPE linux
    detect_os_file=/etc/os-release
    [ -f "${detect_os_file}" ] || detect_os_file=/usr/lib/os-release
    if [ -f "${detect_os_file}" ]; then
      detect_os_emit CM_HOST_OS_FLAVOR "$(detect_os_release ID "${detect_os_file}")"
      detect_os_emit CM_HOST_OS_FLAVOR_LIKE "$(detect_os_release ID_LIKE "${detect_os_file}")"
      detect_os_emit CM_HOST_OS_VERSION "$(detect_os_release VERSION_ID "${detect_os_file}")"
    else
      detect_os_emit CM_HOST_OS_FLAVOR linux
      detect_os_emit CM_HOST_OS_VERSION ""
    fi
    if command -v ldd > /dev/null 2>&1; then
      detect_os_glibc="$(ldd --version 2>/dev/null | head -n 1 | grep -i -E 'glibc|gnu libc' | awk '{print $NF}')"
      detect_os_emit CM_HOST_OS_GLIBC_VERSION "${detect_os_glibc}"
    fi
    ;;
  Darwin)
    detect_os_emit CM_HOST_OS_TYPE darwin
    detect_os_emit CM_HOST_OS_FLAVOR macos
    detect_os_emit CM_HOST_OS_FLAVOR_LIKE ""
    detect_os_emit CM_HOST_OS_VERSION "$(sw_vers -productVersion 2>/dev/null)"
    ;;
  *)
    echo "detect-os: unsupported system '${detect_os_kernel}' (Linux and macOS are supported)" >&2
    exit 1
    ;;
esac

detect_os_manager=""
for detect_os_tool in apt-get dnf yum zypper apk pacman brew port; do
  if command -v "${detect_os_tool}" > /dev/null 2>&1; then
    detect_os_manager="${detect_os_tool%-get}"
    break
  fi
done
detect_os_emit CM_HOST_OS_PACKAGE_MANAGER "${detect_os_manager}"
