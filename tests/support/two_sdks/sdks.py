"""The two SDKs an app of tests/support/two_sdks/apps/ runs under: as written (``inngest``), or with only
its import lines pointed at this package (``inngest_serverless``)."""

from __future__ import annotations

import re
from pathlib import Path

APPS = Path(__file__).parent / "apps"
SDKS = ("official", "ours")
_IMPORT = re.compile(r"^(import|from) inngest(?=[\s.])(\.[\w.]+)?(.*)$", re.M)


def rewrite(source: str) -> str:
    """``import inngest`` becomes ``import inngest_serverless as inngest``; ``inngest.flask``,
    ``inngest.experimental.ai`` ... become the same modules of this package. Nothing else changes."""

    def one(m: re.Match[str]) -> str:
        keyword, submodule, rest = m.group(1), m.group(2) or "", m.group(3)
        if keyword == "import" and not submodule and not rest.strip():
            return "import inngest_serverless as inngest"
        return f"{keyword} inngest_serverless{submodule}{rest}"

    return _IMPORT.sub(one, source)


def source(module: str, sdk: str) -> str:
    text = (APPS / f"{module}.py").read_text()
    return text if sdk == "official" else rewrite(text)
