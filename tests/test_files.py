"""Opening user-given files: regular files only, refused without blocking or reading forever."""

from __future__ import annotations

import os

import pytest

from neural_mmo.files import NotRegularFileError, open_regular, read_regular


def test_a_regular_file_opens_and_reads(tmp_path):
    path = tmp_path / "a.txt"
    path.write_bytes(b"hello")
    with open_regular(path) as f:
        assert f.read() == b"hello"
    assert read_regular(path, 5) == b"hello"
    link = tmp_path / "link.txt"
    link.symlink_to(path)
    assert read_regular(link, 5) == b"hello"  # links are followed to what they name


def test_a_fifo_is_refused_without_blocking(tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    with pytest.raises(NotRegularFileError, match="FIFO"):
        open_regular(fifo)
    link = tmp_path / "innocent.toml"
    link.symlink_to(fifo)
    with pytest.raises(NotRegularFileError, match="FIFO"):
        read_regular(link, 100)


def test_devices_and_folders_are_refused(tmp_path):
    with pytest.raises(NotRegularFileError, match="character device"):
        read_regular("/dev/zero", 100)
    with pytest.raises(NotRegularFileError, match="directory"):
        open_regular(tmp_path)
    with pytest.raises(FileNotFoundError):
        open_regular(tmp_path / "absent")


def test_a_file_larger_than_the_limit_is_refused(tmp_path):
    path = tmp_path / "big"
    path.write_bytes(bytes(101))
    with pytest.raises(OSError, match="101 bytes, more than the 100 allowed"):
        read_regular(path, 100)
    with open(path, "wb") as f:  # sparse: claims a gibibyte, holds nothing
        f.truncate(1 << 30)
    with pytest.raises(OSError, match="more than the 100 allowed"):
        read_regular(path, 100)
