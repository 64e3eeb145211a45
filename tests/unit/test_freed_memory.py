"""Large blocks freed within a run stay in the process for reuse, and go back where a step
ends (graphprofile._pages.freed_memory_kept, release_freed_memory).

Page faults are counted with ``getrusage``: an array whose pages the process already has
costs next to none; one on pages new to the process costs one fault per 4 kB page.
"""

from __future__ import annotations

import resource

import numpy as np
import pytest

from graphprofile import _pages

if _pages._glibc() is None:
    pytest.skip("glibc's allocator only", allow_module_level=True)

SIZE = 64 << 20  # above glibc's largest threshold for blocks of their own (32 MB)
PAGES = SIZE // 4096


def _faults_of_a_new_array() -> int:
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    array = np.ones(SIZE // 8)  # writes every page
    faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before
    del array
    return faults


@pytest.fixture
def allocator_unchosen(monkeypatch):
    for name in (_pages.KEEP_VARIABLE, "GLIBC_TUNABLES", *_pages._MALLOC_VARIABLES):
        monkeypatch.delenv(name, raising=False)
    with _pages.small_pages_for_arrays():  # one fault per 4 kB page, not per 2 MB
        yield


def test_freed_blocks_are_reused_in_the_block_and_handed_back_on_release(
    allocator_unchosen,
) -> None:
    _faults_of_a_new_array()
    assert _faults_of_a_new_array() > PAGES // 2  # glibc's default: mapped and unmapped
    with _pages.freed_memory_kept() as changed:
        assert changed is True
        _faults_of_a_new_array()  # the heap grows once
        assert _faults_of_a_new_array() < PAGES // 20  # then its pages are reused
        assert _faults_of_a_new_array() < PAGES // 20
        _pages.release_freed_memory()
        assert _faults_of_a_new_array() > PAGES // 2  # handed back: faulted in again
    _faults_of_a_new_array()
    assert _faults_of_a_new_array() > PAGES // 2  # glibc's defaults are back


def test_defaults_come_back_when_the_block_raises(allocator_unchosen) -> None:
    with pytest.raises(RuntimeError), _pages.freed_memory_kept():
        raise RuntimeError("a failed run")
    _faults_of_a_new_array()
    assert _faults_of_a_new_array() > PAGES // 2


@pytest.mark.parametrize(
    ("name", "value"),
    [
        (_pages.KEEP_VARIABLE, "0"),
        ("GLIBC_TUNABLES", "glibc.malloc.trim_threshold=1048576"),
        ("MALLOC_TRIM_THRESHOLD_", "1048576"),
    ],
)
def test_the_users_choice_in_the_environment_is_left_alone(
    allocator_unchosen, monkeypatch, name: str, value: str
) -> None:
    monkeypatch.setenv(name, value)
    with _pages.freed_memory_kept() as changed:
        assert changed is False
        _faults_of_a_new_array()
        assert _faults_of_a_new_array() > PAGES // 2


def test_a_run_keeps_freed_memory_and_hands_it_back_after(
    allocator_unchosen, monkeypatch, tmp_path
) -> None:
    from graphprofile import pipeline
    from graphprofile.generate.bank import generate_bank

    seen: list[bool] = []
    read = pipeline.load_frames

    def spy(*args, **kwargs):
        _faults_of_a_new_array()
        seen.append(_faults_of_a_new_array() < PAGES // 20)
        return read(*args, **kwargs)

    monkeypatch.setattr(pipeline, "load_frames", spy)
    generate_bank(tmp_path / "bank", customers=1000, seed=1)
    pipeline.run_job(pipeline.RunConfig(data_dir=tmp_path / "bank", out_dir=tmp_path / "out"))
    assert seen == [True]
    _faults_of_a_new_array()
    assert _faults_of_a_new_array() > PAGES // 2


def test_a_nested_block_leaves_the_outer_blocks_settings(allocator_unchosen) -> None:
    with _pages.freed_memory_kept():
        with _pages.freed_memory_kept() as inner:
            assert inner is True
        _faults_of_a_new_array()
        assert _faults_of_a_new_array() < PAGES // 20  # still kept
    _faults_of_a_new_array()
    assert _faults_of_a_new_array() > PAGES // 2
