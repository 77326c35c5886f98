"""Settings overrides: unknown keys, wrong types and out-of-range values are refused."""

from __future__ import annotations

import pytest

from flows.core.errors import ConfigError
from flows.core.settings import Settings, settings_from_dict


def test_overrides_apply() -> None:
    s = settings_from_dict(
        {"dedup": {"threshold": 0.8, "verify": "exact"}, "boilerplate": {"min_support": 4}}
    )
    assert (s.dedup.threshold, s.dedup.verify, s.boilerplate.min_support) == (0.8, "exact", 4)
    assert s.minhash == Settings().minhash


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"dedupe": {}}, "unknown config section"),
        ({"dedup": {"treshold": 0.7}}, "unknown key"),
        ({"dedup": {"threshold": "high"}}, "expected float"),
        ({"dedup": {"threshold": 1.5}}, "must be in"),
        ({"dedup": {"verify": "maybe"}}, "use 'estimated' or 'exact'"),
        ({"dedup": {"bands": 16}}, "both bands and rows"),
        ({"boilerplate": {"min_support": 1}}, "at least 2"),
        ({"minhash": {"num_perm": True}}, "expected int"),
        ({"ingest": "big"}, "must be a table"),
        ({"dedup": {"bands": "16", "rows": 8}}, "expected int"),
    ],
)
def test_bad_overrides_are_refused(data: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        settings_from_dict(data)


def test_validation_severities_are_lists_of_keys_and_not_both() -> None:
    s = settings_from_dict({"validation": {"warn": ["claims.expect_x"], "block": []}})
    assert s.validation.warn == ("claims.expect_x",)
    with pytest.raises(ConfigError, match="both warn and block"):
        settings_from_dict({"validation": {"warn": ["a.b"], "block": ["a.b"]}})
    with pytest.raises(ConfigError, match="expected tuple"):
        settings_from_dict({"validation": {"warn": "claims.expect_x"}})


def test_invariant_mode_is_repair_or_raise_and_the_environment_overrides_it(
    tmp_path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from flows.io.config import load_settings

    assert Settings().validation.invariants == "repair"  # production never loses an article
    with pytest.raises(ConfigError, match="use one of"):
        settings_from_dict({"validation": {"invariants": "ignore"}})
    config = tmp_path / "newsdq.toml"
    config.write_text('[validation]\ninvariants = "repair"\n', encoding="utf-8")
    monkeypatch.delenv("NEWSDQ_INVARIANTS", raising=False)
    assert load_settings(config).validation.invariants == "repair"
    monkeypatch.setenv("NEWSDQ_INVARIANTS", "raise")
    assert load_settings(config).validation.invariants == "raise"
    assert load_settings(None).validation.invariants == "raise"
    monkeypatch.setenv("NEWSDQ_INVARIANTS", "loud")
    with pytest.raises(ConfigError, match="NEWSDQ_INVARIANTS=loud"):
        load_settings(None)


def test_removed_containment_keys_load_with_a_warning() -> None:
    with pytest.warns(FutureWarning, match="search_threshold no longer has an effect"):
        settings = settings_from_dict({"containment": {"search_threshold": 0.5, "threshold": 0.9}})
    assert settings.containment.threshold == 0.9


def test_bridging_needs_a_threshold_below_the_page_threshold() -> None:
    from flows.core.errors import ConfigError
    from flows.core.settings import BoilerplateConfig

    BoilerplateConfig(page_bridge_lines=0, page_bridge_threshold=0.9)  # off: not checked
    BoilerplateConfig(page_bridge_lines=2, page_bridge_threshold=0.65)
    with pytest.raises(ConfigError, match="page_bridge_threshold"):
        BoilerplateConfig(page_bridge_lines=2, page_bridge_threshold=0.8)
