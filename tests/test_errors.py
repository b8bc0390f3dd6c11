"""errors.py: failed file operations told as one line naming the user's file, with a hint."""

from __future__ import annotations

import errno

import pytest

from cairn import errors


@pytest.mark.parametrize(
    ("code", "says"),
    [
        (errno.ENOSPC, "the disk is full"),
        (errno.EFBIG, "raise the limit or free space"),
        (errno.EACCES, "fix its permissions"),
        (errno.EROFS, "its file system is read-only"),
        (errno.ENAMETOOLONG, "use a shorter one"),
    ],
)
def test_a_failed_file_operation_says_what_to_do(code: int, says: str) -> None:
    line = errors.describe_os_error(OSError(code, "reason", "/repo/dataset/d/_cm.yaml"))
    assert line.startswith("reason: /repo/dataset/d/_cm.yaml (") and says in line


def test_an_unknown_errno_has_no_hint() -> None:
    assert errors.describe_os_error(OSError(errno.EBADF, "Bad file descriptor")) == (
        "Bad file descriptor"
    )


def test_a_path_inside_a_staging_folder_is_shown_as_the_folder_it_was_staged_in() -> None:
    staged = "/repo/dataset/.cairn-tmp-p42.0a1b2c3d.xyz/_cm.yaml"
    assert errors.shown_path(staged) == "/repo/dataset"
    assert errors.shown_path("/repo/dataset/d/_cm.yaml") == "/repo/dataset/d/_cm.yaml"
    line = errors.describe_os_error(OSError(errno.EISDIR, "Is a directory", staged))
    assert ".cairn-tmp" not in line and line.startswith("Is a directory: /repo/dataset")


def test_os_error_names_what_could_not_be_done() -> None:
    error = errors.os_error(OSError(errno.EROFS, "Read-only file system"), "remove", "/r/d/x")
    assert str(error).startswith("cannot remove /r/d/x: Read-only file system (its file")


def test_did_you_mean_guesses_a_close_choice_only() -> None:
    assert errors.did_you_mean("fnd", ["find", "load", "rm"]) == "; did you mean find?"
    assert errors.did_you_mean("find", ["find", "fine"]) == ""  # right: the mistake is elsewhere
    assert errors.did_you_mean("zzzz", ["find", "load"]) == ""
