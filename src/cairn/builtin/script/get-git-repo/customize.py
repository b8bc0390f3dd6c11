"""get-git-repo: clone ``CM_GIT_URL`` at ``CM_GIT_BRANCH`` and/or ``CM_GIT_CHECKOUT``.

Every git call is an argument list (no shell), git never prompts, and a failed clone leaves
no folder behind. The clone lands in the cache entry; when the script runs uncached it lands
in the caller's directory, as in CM.
"""

import os
import re
import shutil
import subprocess

from cairn.script.recipes import fail, result_dir

GIT_ENV = {**os.environ, "GIT_TERMINAL_PROMPT": "0"}
TRUE_WORDS = ("yes", "true", "on", "1")


def preprocess(i):
    env = i["env"]
    url = str(env.get("CM_GIT_URL", "")).strip()
    if not url:
        return fail("give the repository to clone with --url=URL (or _repo.URL)")
    depth = re.sub(r"^--depth[ =]", "", str(env.get("CM_GIT_DEPTH", "")).strip())
    if depth and not depth.isdigit():
        return fail(f"--depth must be a number of commits, not {depth!r}")
    env["CM_GIT_DEPTH"] = depth
    folder = str(env.get("CM_GIT_CHECKOUT_FOLDER", "") or "repo")
    if os.path.basename(folder) != folder or folder in (".", ".."):
        return fail(f"--folder must be a plain folder name, not {folder!r}")
    for key in ("CM_GIT_URL", "CM_GIT_BRANCH", "CM_GIT_CHECKOUT"):
        if str(env.get(key, "")).startswith("-"):
            return fail(f"{key} may not start with '-': {env[key]!r}")
    return {"return": 0}


def postprocess(i):
    env = i["env"]
    dest = os.path.join(result_dir(env), str(env.get("CM_GIT_CHECKOUT_FOLDER") or "repo"))
    if os.path.exists(dest) and os.listdir(dest):
        return fail(f"{dest} exists and is not empty: remove it or choose another --folder")
    try:
        _clone(env, dest)
        env["CM_GIT_REPO_CURRENT_HASH"] = _git(["rev-parse", "HEAD"], dest)
        env["CM_GIT_REPO_BRANCH"] = _git(["branch", "--show-current"], dest)
    except GitError as exc:
        shutil.rmtree(dest, ignore_errors=True)
        return fail(str(exc))
    env["CM_GIT_CHECKOUT_PATH"] = dest
    env["CM_GIT_REPO_CHECKOUT_PATH"] = dest
    env["CM_GIT_REPO_URL"] = env["CM_GIT_URL"]
    env["CM_GET_DEPENDENT_CACHED_PATH"] = dest
    return {"return": 0}


class GitError(Exception):
    pass


def _clone(env, dest):
    url, branch = env["CM_GIT_URL"], env.get("CM_GIT_BRANCH")
    checkout, depth = env.get("CM_GIT_CHECKOUT"), env.get("CM_GIT_DEPTH")
    argv = ["clone", "--no-local"]
    argv += ["--branch", branch] if branch else []
    argv += ["--depth", depth] if depth else []
    _git([*argv, "--", url, dest], None)
    if checkout:
        try:
            _git(["checkout", "--quiet", checkout, "--"], dest)
        except GitError:
            if not depth:
                raise
            _git(["fetch", "--quiet", "--unshallow"], dest)
            _git(["checkout", "--quiet", checkout, "--"], dest)
    submodules = str(env.get("CM_GIT_RECURSE_SUBMODULES", "")).lower() in TRUE_WORDS
    if submodules and os.path.isfile(os.path.join(dest, ".gitmodules")):
        _git(["submodule", "update", "--init", "--recursive"], dest)


def _git(args, cwd):
    """Run ``git args`` in ``cwd``; its stripped output, or GitError with git's message."""
    try:
        done = subprocess.run(
            ["git", *args], cwd=cwd, env=GIT_ENV, capture_output=True, text=True, check=False
        )
    except OSError as exc:
        raise GitError(f"cannot run git ({exc}); install git") from exc
    if done.returncode != 0:
        raise GitError(f"git {' '.join(args)} failed: {done.stderr.strip()[-2000:]}")
    return done.stdout.strip()
