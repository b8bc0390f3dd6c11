"""The one warnings channel below the edges (``cairn.report``)."""

from __future__ import annotations

import threading

import pytest

from cairn import report


def test_reporter_collects_warnings_in_order() -> None:
    reporter = report.Reporter()
    reporter.warn("first")
    reporter.warn("second")
    assert reporter.warnings == ["first", "second"]


def test_reporter_deduplicates() -> None:
    lines: list[str] = []
    reporter = report.Reporter(echo=True, sink=lines.append)
    for _ in range(3):
        reporter.warn("same")
    reporter.warn("other")
    reporter.warn("same")
    assert reporter.warnings == ["same", "other"]
    assert lines == ["cairn warning: same", "cairn warning: other"]


def test_reporter_without_echo_is_silent(capsys: pytest.CaptureFixture[str]) -> None:
    lines: list[str] = []
    reporter = report.Reporter(sink=lines.append)
    reporter.warn("quiet")
    assert lines == []
    assert capsys.readouterr() == ("", "")


def test_echo_without_sink_goes_to_stderr(capsys: pytest.CaptureFixture[str]) -> None:
    report.Reporter(echo=True).warn("to stderr")
    out, err = capsys.readouterr()
    assert out == ""
    assert err == "cairn warning: to stderr\n"


def test_using_routes_module_warnings() -> None:
    reporter = report.Reporter()
    with report.using(reporter) as active:
        assert active is reporter
        assert report.current() is reporter
        report.warn("routed")
    assert reporter.warnings == ["routed"]


def test_using_restores_the_previous_reporter() -> None:
    outer, inner = report.Reporter(), report.Reporter()
    with report.using(outer):
        with report.using(inner):
            report.warn("in")
        report.warn("out")
    assert inner.warnings == ["in"]
    assert outer.warnings == ["out"]
    assert all(report.current() is not r for r in (outer, inner))


def test_using_restores_after_an_exception() -> None:
    outer, inner = report.Reporter(), report.Reporter()
    with report.using(outer):
        with pytest.raises(RuntimeError), report.using(inner):
            raise RuntimeError("boom")
        assert report.current() is outer
    assert report.current() is not inner


def test_without_reporter_warnings_go_to_stderr(capsys: pytest.CaptureFixture[str]) -> None:
    report.warn("fallback warning")
    assert capsys.readouterr().err == "cairn warning: fallback warning\n"


def test_without_reporter_nothing_is_kept_or_hidden(capsys: pytest.CaptureFixture[str]) -> None:
    # Separate calls of a long-lived process (a notebook) each see their warning again.
    report.warn("again")
    report.warn("again")
    assert capsys.readouterr().err == "cairn warning: again\n" * 2
    assert report.current().warnings == []


def test_reporters_are_per_thread() -> None:
    main = report.Reporter()
    seen: list[report.Reporter] = []

    def other() -> None:
        seen.append(report.current())

    with report.using(main):
        thread = threading.Thread(target=other)
        thread.start()
        thread.join(timeout=10)
    assert seen and seen[0] is not main
