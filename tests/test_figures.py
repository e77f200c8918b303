"""Figures written by `zoo plot`, `zoo compare` and `zoo demo`: a write error is one line and leaves no file."""
import errno
import os
import stat

import pytest

from zoo.cli import main


def _one_line(capsys, *args) -> str:
    assert main([str(a) for a in args]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("zoo: error:") and len(err.splitlines()) == 1 and "Traceback" not in err, err
    return err


def test_a_figure_is_written_whole_with_ordinary_permissions(tmp_path, capsys):
    assert main(["plot", "losses", "--out", str(tmp_path / "losses.svg")]) == 0
    assert (tmp_path / "losses.svg").read_text().lstrip().startswith("<?xml")
    assert stat.S_IMODE((tmp_path / "losses.svg").stat().st_mode) == 0o666 & ~_umask()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["losses.svg"]


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


@pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="needs Linux's /proc")
def test_figure_paths_that_cannot_be_written_are_one_line(tmp_path, capsys):
    err = _one_line(capsys, "plot", "activations", "--out", "/proc/x.png")
    assert "Cannot write the figure /proc/x.png" in err
    long = tmp_path / ("x" * 300 + ".png")
    assert "File name too long" in _one_line(capsys, "plot", "losses", "--out", long)
    assert list(tmp_path.iterdir()) == []


def test_a_full_disk_while_writing_a_figure_leaves_nothing(tmp_path, capsys, monkeypatch):
    from matplotlib.figure import Figure

    real = Figure.savefig

    def full(self, file, *args, **kwargs):
        real(self, file, *args, **kwargs)  # part of it is written, then the disk is full
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(Figure, "savefig", full)
    (tmp_path / "old.png").write_bytes(b"the previous figure")
    assert "No space left on device" in _one_line(capsys, "plot", "losses", "--out", tmp_path / "old.png")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["old.png"]
    assert (tmp_path / "old.png").read_bytes() == b"the previous figure"


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_a_read_only_folder_is_one_line(tmp_path, capsys):
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        assert "Permission denied" in _one_line(capsys, "plot", "losses", "--out", folder / "x.svg")
        assert list(folder.iterdir()) == []
    finally:
        folder.chmod(0o755)
