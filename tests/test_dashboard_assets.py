"""The dashboard's files ship in the wheel, and the page names only files the server serves."""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

from hatchling.builders.wheel import WheelBuilder

from mockserver.server.dashboard.page import ASSETS

REPO = Path(__file__).resolve().parents[1]
STATIC = REPO / "mockserver" / "server" / "dashboard" / "static"
PREFIX = "mockserver/server/dashboard/static/"


def test_the_wheel_holds_the_page_and_every_file_it_loads(tmp_path: Path) -> None:
    (wheel,) = WheelBuilder(str(REPO)).build(directory=str(tmp_path), versions=["standard"])
    with zipfile.ZipFile(wheel) as archive:
        shipped = {name.removeprefix(PREFIX) for name in archive.namelist() if PREFIX in name}
    assert shipped == {"index.html", *ASSETS}


def test_the_static_files_are_the_served_ones_and_reference_only_those() -> None:
    on_disk = {path.name for path in STATIC.iterdir()}
    assert on_disk == {"index.html", *ASSETS}, "a file in static/ the server would not serve"
    page = (STATIC / "index.html").read_text(encoding="utf-8")
    loaded = set(re.findall(r'(?:src|href)="\{\{base\}\}/ui/([^"]+)"', page))
    assert loaded == {"app.css", "app.js"}
    assert not re.search(r"<script(?![^>]*\bsrc=)", page), "an inline script (the CSP refuses it)"
    assert not re.search(r"\son[a-z]+=", page), "an inline handler (the CSP refuses it)"
    for script in (name for name in ASSETS if name.endswith(".js")):
        text = (STATIC / script).read_text(encoding="utf-8")
        for imported in re.findall(r'from "\./([^"]+)"', text):
            assert imported in ASSETS, f"{script} imports {imported}, which is not served"
        markup = re.search(r"innerHTML|outerHTML|insertAdjacentHTML|document\.write", text)
        assert markup is None, f"{script} writes markup: request data must go in as text"
