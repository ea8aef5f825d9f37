from pathlib import Path

import pytest

from ringwatch.config import Settings, load_settings
from ringwatch.contract import DETECTORS
from ringwatch.errors import ConfigError


def test_defaults() -> None:
    s = load_settings(None)
    assert s.enabled == DETECTORS
    assert s.pension_age == {"M": 60, "F": 50}


def test_file(tmp_path: Path) -> None:
    p = tmp_path / "ringwatch.toml"
    p.write_text(
        '[pension_age]\nF = 55\n[detectors]\nenabled = ["survival_risk", "deceased_payment"]\n'
        "[detectors.shared_account]\nhub_address_cap = 12\n",
        encoding="utf-8",
    )
    s = load_settings(p)
    assert s.enabled == ("deceased_payment", "survival_risk")  # contract order
    assert s.pension_age == {"M": 60, "F": 55}
    assert s.params["shared_account"]["hub_address_cap"] == 12
    assert s.fingerprint() != Settings().fingerprint()


@pytest.mark.parametrize(
    "text",
    ["[detectors]\nenabled = ['nope']\n", "not toml [", "[weird]\nx=1\n", "[detectors.nope]\nx = 1\n"],
)
def test_bad_config_is_input_error(tmp_path: Path, text: str) -> None:
    p = tmp_path / "c.toml"
    p.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as e:
        load_settings(p)
    assert e.value.exit_code == 2
