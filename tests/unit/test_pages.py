"""NumPy's huge-page advice is off within a run and restored after it (graphprofile._pages)."""

from __future__ import annotations

import pytest

from graphprofile import _pages

multiarray = pytest.importorskip("numpy._core.multiarray")
if not hasattr(multiarray, "_get_madvise_hugepage"):
    pytest.skip("this NumPy has no huge-page switch", allow_module_level=True)


def test_small_pages_within_the_block_and_the_setting_restored_after(monkeypatch) -> None:
    monkeypatch.delenv(_pages.NUMPY_VARIABLE, raising=False)
    for before in (True, False):
        multiarray._set_madvise_hugepage(before)
        try:
            with _pages.small_pages_for_arrays() as changed:
                assert changed is True
                assert multiarray._get_madvise_hugepage() is False
            assert multiarray._get_madvise_hugepage() is before
        finally:
            multiarray._set_madvise_hugepage(True)


def test_restored_when_the_block_raises(monkeypatch) -> None:
    monkeypatch.delenv(_pages.NUMPY_VARIABLE, raising=False)
    multiarray._set_madvise_hugepage(True)
    with pytest.raises(RuntimeError), _pages.small_pages_for_arrays():
        raise RuntimeError("a failed run")
    assert multiarray._get_madvise_hugepage() is True


def test_the_users_choice_in_the_environment_is_left_alone(monkeypatch) -> None:
    monkeypatch.setenv(_pages.NUMPY_VARIABLE, "1")
    multiarray._set_madvise_hugepage(True)
    with _pages.small_pages_for_arrays() as changed:
        assert changed is False
        assert multiarray._get_madvise_hugepage() is True


def test_generating_a_bank_is_such_a_block(monkeypatch, tmp_path) -> None:
    from graphprofile.generate import bank

    monkeypatch.delenv(_pages.NUMPY_VARIABLE, raising=False)
    seen: list[bool] = []
    build = bank.build_population

    def spy(*args, **kwargs):
        seen.append(bool(multiarray._get_madvise_hugepage()))
        return build(*args, **kwargs)

    monkeypatch.setattr(bank, "build_population", spy)
    multiarray._set_madvise_hugepage(True)
    bank.generate_bank(tmp_path, customers=1000, seed=1)
    assert seen == [False]
    assert multiarray._get_madvise_hugepage() is True
