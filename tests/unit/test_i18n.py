"""Messages in English and Chinese: one catalogue per language, the tag vocabulary, the
console summary and the Bloom perspective in Chinese; English output unchanged."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest

from graphprofile.errors import ConfigError
from graphprofile.i18n import ENV_LANG, LANGS, Messages, catalog, placeholders, resolve_lang
from graphprofile.i18n.vocabulary import BASE_TAGS, VOCABULARY_COLUMNS, tag_vocabulary
from graphprofile.sinks.bloom import CATEGORIES, build_perspective
from graphprofile.sinks.bloom_phrases import phrases

HAN = re.compile(r"[\u4e00-\u9fff]")
STAMP = pd.Timestamp("2025-01-01T00:00:00Z")


def test_every_language_has_every_key_with_the_same_fields() -> None:
    english = catalog("en")
    for lang in LANGS:
        other = catalog(lang)
        assert set(other) == set(english), lang
        for key, template in english.items():
            assert placeholders(other[key]) == placeholders(template), (lang, key)


def test_chinese_messages_are_chinese() -> None:
    """Every Chinese message with words in it (beyond its {fields}) has Chinese words."""
    zh = catalog("zh")
    words = re.compile(r"[A-Za-z]{2,}")
    kept = {"tag.unknown.name", "explain.influence_keys.pagerank"}  # the tag key; a name
    untranslated = [
        k
        for k, v in zh.items()
        if k not in kept
        and v != "PageRank"
        and words.search(re.sub(r"\{[^}]*\}", "", v))
        and not HAN.search(v)
    ]
    assert untranslated == []


@pytest.mark.parametrize(
    ("given", "env", "expected"),
    [(None, None, "en"), ("zh", None, "zh"), (None, "zh_CN.UTF-8", "zh"), ("en", "zh", "en"),
     ("zh-Hans", None, "zh"), ("ZH-cn", None, "zh"), (None, "", "en")],
)  # fmt: skip
def test_resolve_lang(
    given: str | None, env: str | None, expected: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    if env is None:
        monkeypatch.delenv(ENV_LANG, raising=False)
    else:
        monkeypatch.setenv(ENV_LANG, env)
    assert resolve_lang(given) == expected


def test_unknown_language_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ConfigError) as err:
        resolve_lang("fr")
    assert str(err.value) == "--lang 'fr' is not a supported language; use en or zh"
    monkeypatch.setenv(ENV_LANG, "de_DE")
    with pytest.raises(ConfigError) as err:
        resolve_lang(None)
    assert str(err.value) == f"{ENV_LANG} 'de_DE' is not a supported language; use en or zh"


def test_tag_vocabulary_names_every_tag_in_both_languages() -> None:
    vocab = tag_vocabulary(["influencer:top5pct", "risk:high", "something_new"])
    assert list(vocab.columns) == VOCABULARY_COLUMNS
    assert vocab["tag"].is_unique and set(BASE_TAGS) <= set(vocab["tag"])
    row = vocab.set_index("tag")
    assert row.loc["influencer:top5pct", "name_en"] == "Top 5% influencer"
    assert row.loc["influencer:top5pct", "name_zh"] == "影响力前 5%"
    assert row.loc["ring_member:cycle", "name_zh"] == "资金闭环团伙成员"
    assert row.loc["risk:high", ["name_en", "name_zh"]].tolist() == ["High risk", "高风险"]
    # a tag the vocabulary does not know keeps its key as its name (never dropped)
    assert row.loc["something_new", ["name_en", "name_zh"]].tolist() == ["something_new"] * 2
    known = row.drop(index="something_new")
    assert known["name_zh"].str.contains(HAN).all()
    assert (known["description_en"].str.len() > 0).all()
    assert known["description_zh"].str.contains(HAN).all()


def test_run_writes_tag_vocabulary_for_its_tags(tmp_path: Path) -> None:
    from graphprofile.pipeline import RunConfig, run_job

    root = Path(__file__).resolve().parents[2]
    config = RunConfig(
        data_dir=root / "tests" / "data" / "cn_bank",
        out_dir=tmp_path,
        mapping=root / "loaders" / "example_cn_bank.toml",
        report=False,
    )
    summary = run_job(config)
    assert summary["outputs"]["tag_vocabulary"] == "tag_vocabulary.parquet"
    vocab = pd.read_parquet(tmp_path / "tag_vocabulary.parquet")
    tags = pd.read_parquet(tmp_path / "tags.parquet")
    assert set(tags["tag"]) <= set(vocab["tag"])
    # the run's tags keep their English keys
    assert {"ring_member:identity", "ring_member:cycle", "risk:high"} <= set(tags["tag"])


def test_bloom_perspective_in_chinese() -> None:
    en = build_perspective(created_at=STAMP)
    zh = build_perspective(created_at=STAMP, lang="zh")
    assert [c["name"] for c in en["categories"]] == [c.label for c in CATEGORIES]
    zh_names = [c["name"] for c in zh["categories"]]
    assert zh_names[:4] == ["高风险客户", "团伙成员", "影响力客户", "客户"]
    assert all(HAN.search(n) for n in zh_names)
    # labels, properties, captions and Cypher are the same: only what people read changes
    for a, b in zip(en["categories"], zh["categories"], strict=True):
        assert {k: v for k, v in a.items() if k != "name"} == {
            k: v for k, v in b.items() if k != "name"
        }
    param = re.compile(r"\$\w+")
    for phrase, a, b in zip(phrases(), en["templates"], zh["templates"], strict=True):
        assert a["text"] == phrase.text  # English is the phrase declared in the Cypher file
        assert HAN.search(b["text"]), b["text"]
        assert sorted(param.findall(b["text"])) == sorted(param.findall(a["text"]))
        assert (a["id"], a["cypher"], a["params"]) == (b["id"], b["cypher"], b["params"])
    assert zh["templates"][0]["text"] == "团伙 $ringId"


def test_english_bloom_phrases_in_catalogue_match_the_cypher_files() -> None:
    en = Messages("en")
    for phrase in phrases():
        assert en(f"bloom.phrase.{phrase.file}") == phrase.text


def _run_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str], *extra: str) -> tuple[int, str]:
    from graphprofile.cli import main

    root = Path(__file__).resolve().parents[2]
    rc = main(
        [
            "run",
            str(root / "tests" / "data" / "cn_bank"),
            "--mapping",
            str(root / "loaders" / "example_cn_bank.toml"),
            "--out",
            str(tmp_path),
            *extra,
        ]
    )
    return rc, capsys.readouterr().out


def test_console_summary_in_chinese_and_english(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(ENV_LANG, raising=False)
    rc, out = _run_cli(tmp_path / "zh", capsys, "--lang", "zh")
    assert rc == 0
    for text in ("各表行数（读取 = 接受 + 拒绝 + 合并）", "对账合并", "规范图", "完成；输出在"):
        assert text in out, text
    rc, out = _run_cli(tmp_path / "en", capsys)
    assert rc == 0
    assert "Rows per table (read = accepted + rejected + merged)" in out
    assert not any(catalog("zh")[k] in out for k in ("summary.graph_title", "summary.stage"))
    monkeypatch.setenv(ENV_LANG, "zh")
    rc, out = _run_cli(tmp_path / "env", capsys)
    assert rc == 0 and "规范图" in out


def test_cli_rejects_unknown_language(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from graphprofile.cli import main

    rc = main(["bloom", "perspective", "--output", str(tmp_path / "p.json"), "--lang", "fr"])
    assert rc == 2
    assert capsys.readouterr().err.strip() == (
        "Error: --lang 'fr' is not a supported language; use en or zh"
    )


def test_demo_takes_the_language_from_the_environment(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from graphprofile.cli import main

    monkeypatch.setenv(ENV_LANG, "zh")
    rc = main(["demo", "--customers", "1000", "--workdir", str(tmp_path), "--quiet"])
    assert rc == 0
    report = (tmp_path / "out" / "report.html").read_text(encoding="utf-8")
    assert '<html lang="zh-CN">' in report and "<h2>运行摘要</h2>" in report
