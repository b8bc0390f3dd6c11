"""extract-file: extract a zip or tar archive into a new folder, refusing unsafe members.

The archive is unpacked by cairn's own archive module (``cairn.store.archive``): every member
is checked before anything is written (no absolute path, no ``..``, no link that leaves the
folder, no device or fifo; sizes within the limits of docs/artifacts.md, "Archive limits"),
and the members are staged, so a refused or broken archive leaves nothing. The archive is
only ever opened for reading. The folder is made in ``CM_EXTRACT_PATH`` if given, else in
the cache entry (``--force_cache``), else in the caller's directory (as in CM).
"""

import os
from pathlib import Path

from cairn.errors import CairnError
from cairn.script.recipes import fail, result_dir
from cairn.store.archive import format_of, unpack_into

SUFFIXES = (".tar.gz", ".tar.bz2", ".tar.xz", ".tgz", ".tbz2", ".txz", ".tar", ".zip")


def preprocess(i):
    env = i["env"]
    given = env.get("CM_EXTRACT_FILEPATH") or env.get("CM_INPUT")
    if not given:
        return fail("give the archive to extract with --input=ARCHIVE")
    path = os.path.join(env.get("CM_TMP_CURRENT_PATH", ""), os.path.expanduser(str(given)))
    if not os.path.isfile(path):
        return fail(f"archive {path} not found")
    if format_of(Path(path)) is None:
        return fail(f"{path} is neither a zip nor a tar archive")
    folder = env.get("CM_EXTRACT_TO_FOLDER") or _stem(os.path.basename(path))
    if os.path.basename(folder) != folder or folder in (".", ".."):
        return fail(f"--folder must be a plain folder name, not {folder!r}")
    env["CM_EXTRACT_FILEPATH"] = os.path.abspath(path)
    env["CM_EXTRACT_TO_FOLDER"] = folder
    return {"return": 0}


def postprocess(i):
    env = i["env"]
    archive = env["CM_EXTRACT_FILEPATH"]
    base = os.path.expanduser(env.get("CM_EXTRACT_PATH") or result_dir(env))
    dest = os.path.join(env.get("CM_TMP_CURRENT_PATH", ""), base, env["CM_EXTRACT_TO_FOLDER"])
    if os.path.exists(dest) and (not os.path.isdir(dest) or os.listdir(dest)):
        return fail(f"{dest} exists and is not empty: remove it or choose another --folder")
    try:
        unpack_into(Path(archive), Path(dest))
    except CairnError as exc:
        return fail(_nothing_extracted(f"refusing to extract {archive}: {exc}"))
    except (OSError, EOFError) as exc:
        return fail(_nothing_extracted(f"cannot extract {archive}: {exc}"))
    env["CM_EXTRACT_EXTRACTED_PATH"] = dest
    env["CM_GET_DEPENDENT_CACHED_PATH"] = dest
    if env.get("CM_EXTRACT_FINAL_ENV_NAME"):
        env[env["CM_EXTRACT_FINAL_ENV_NAME"]] = dest
    return {"return": 0}


def _nothing_extracted(message):
    return message if "nothing was extracted" in message else message + "; nothing was extracted"


def _stem(name):
    for suffix in SUFFIXES:
        if name.lower().endswith(suffix) and len(name) > len(suffix):
            return name[: -len(suffix)]
    return name + ".extracted"
