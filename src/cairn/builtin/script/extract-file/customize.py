"""extract-file: extract a zip or tar archive into a new folder, refusing unsafe members.

Every member is checked before anything is written: no absolute path, no ``..``, no link
that points outside the folder, no member reached through a link, no device or fifo. The
archive is only ever opened for reading. The folder is made in ``CM_EXTRACT_PATH`` if given,
else in the cache entry (``--force_cache``), else in the caller's directory (as in CM).
"""

import os
import posixpath
import re
import shutil
import tarfile
import zipfile

SUFFIXES = (".tar.gz", ".tar.bz2", ".tar.xz", ".tgz", ".tbz2", ".txz", ".tar", ".zip")


class Unsafe(Exception):
    pass


def preprocess(i):
    env = i["env"]
    given = env.get("CM_EXTRACT_FILEPATH") or env.get("CM_INPUT")
    if not given:
        return _fail("give the archive to extract with --input=ARCHIVE")
    path = os.path.join(env.get("CM_TMP_CURRENT_PATH", ""), os.path.expanduser(str(given)))
    if not os.path.isfile(path):
        return _fail(f"archive {path} not found")
    if not zipfile.is_zipfile(path) and not tarfile.is_tarfile(path):
        return _fail(f"{path} is neither a zip nor a tar archive")
    folder = env.get("CM_EXTRACT_TO_FOLDER") or _stem(os.path.basename(path))
    if os.path.basename(folder) != folder or folder in (".", ".."):
        return _fail(f"--folder must be a plain folder name, not {folder!r}")
    env["CM_EXTRACT_FILEPATH"] = os.path.abspath(path)
    env["CM_EXTRACT_TO_FOLDER"] = folder
    return {"return": 0}


def postprocess(i):
    env = i["env"]
    archive = env["CM_EXTRACT_FILEPATH"]
    base = os.path.expanduser(env.get("CM_EXTRACT_PATH") or _target_dir(env))
    dest = os.path.join(env.get("CM_TMP_CURRENT_PATH", ""), base, env["CM_EXTRACT_TO_FOLDER"])
    if os.path.exists(dest) and (not os.path.isdir(dest) or os.listdir(dest)):
        return _fail(f"{dest} exists and is not empty: remove it or choose another --folder")
    try:
        if zipfile.is_zipfile(archive):
            _extract_zip(archive, dest)
        else:
            _extract_tar(archive, dest)
    except Unsafe as exc:
        return _fail(f"refusing to extract {archive}: {exc}; nothing was extracted")
    except (OSError, EOFError, tarfile.TarError, zipfile.BadZipFile) as exc:
        shutil.rmtree(dest, ignore_errors=True)
        return _fail(f"cannot extract {archive}: {exc}")
    env["CM_EXTRACT_EXTRACTED_PATH"] = dest
    env["CM_GET_DEPENDENT_CACHED_PATH"] = dest
    if env.get("CM_EXTRACT_FINAL_ENV_NAME"):
        env[env["CM_EXTRACT_FINAL_ENV_NAME"]] = dest
    return {"return": 0}


def _extract_zip(archive, dest):
    with zipfile.ZipFile(archive) as zf:
        for name in zf.namelist():
            _check_name(name)
        os.makedirs(dest, exist_ok=True)
        zf.extractall(dest)


def _extract_tar(archive, dest):
    with tarfile.open(archive) as tf:
        members = tf.getmembers()
        _check_tar(members)
        os.makedirs(dest, exist_ok=True)
        safe_filter = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}
        tf.extractall(dest, members=members, **safe_filter)


def _check_tar(members):
    links = {_walk(m.name, set(), m.name) for m in members if m.issym()}
    for m in members:
        _check_name(m.name)
        if m.isdev() or m.isfifo():
            raise Unsafe(f"{m.name!r} is a device or fifo")
        _walk(m.name, links, m.name)
        if m.issym():
            if not m.linkname or m.linkname.startswith("/"):
                raise Unsafe(f"link {m.name!r} points to {m.linkname!r}")
            _walk(posixpath.dirname(m.name) + "/" + m.linkname, links, f"link {m.name!r}")
        elif m.islnk():
            _check_name(m.linkname)
            _walk(m.linkname, links, f"link {m.name!r}")


def _check_name(name):
    if name.startswith(("/", "\\")) or re.match(r"[A-Za-z]:", name):
        raise Unsafe(f"{name!r} is an absolute path")
    if ".." in re.split(r"[/\\]", name):
        raise Unsafe(f"{name!r} contains '..'")


def _walk(path, links, what):
    """``path`` resolved step by step inside the folder; never above it, never through a
    link (so what is checked here is what the file system will do)."""
    parts = []
    for part in path.replace("\\", "/").split("/"):
        if parts and "/".join(parts) in links:
            raise Unsafe(f"{what} goes through the link {'/'.join(parts)!r}")
        if part == "..":
            if not parts:
                raise Unsafe(f"{what} points outside the folder")
            parts.pop()
        elif part not in ("", "."):
            parts.append(part)
    return "/".join(parts)


def _stem(name):
    for suffix in SUFFIXES:
        if name.lower().endswith(suffix) and len(name) > len(suffix):
            return name[: -len(suffix)]
    return name + ".extracted"


def _target_dir(env):
    """Where results stay: the cache entry (the current directory of a cached run's hooks),
    else the caller's directory, as in CM -- an uncached run's work directory is removed."""
    work = os.getcwd()
    if os.path.basename(os.path.dirname(work)) == "cache":
        return work
    return env.get("CM_TMP_CURRENT_PATH") or work


def _fail(message):
    return {"return": 1, "error": message}
