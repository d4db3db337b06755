"""The manual holds together: README.md opens with the two commands, its map names every
folder and module of the package, and every relative link in it and in docs/ reaches a file
of the repository (anchors aside)."""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def test_the_readme_opens_with_the_two_commands():
    """A newcomer's first screen: `make demo` and `make test` in the first 40 lines."""
    head = "\n".join(ROOT.joinpath("README.md").read_text().splitlines()[:40])
    assert "make demo" in head and "make test" in head


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_reaches_a_file(page):
    targets = re.findall(r"\]\(([^)\s]+)\)", page.read_text())
    missing = [t for t in targets if not re.match(r"[a-z]+:", t) and t.split("#")[0]
               and not (page.parent / t.split("#")[0]).exists()]
    assert not missing, f"{page.name} links to what is not there: {missing}"


def test_the_readmes_map_names_every_folder_and_module():
    """The Layout section is the folder tree: a module added without a word there fails."""
    readme = ROOT.joinpath("README.md").read_text()
    layout = readme[readme.index("## Layout"):]
    package = ROOT / "src" / "babysit"
    unnamed = [str(p.relative_to(package)) for p in sorted(package.rglob("*"))
               if (p.is_dir() and p.name != "__pycache__" and f"{p.name}/" not in layout)
               or (p.suffix == ".py" and p.name not in ("__init__.py", "__main__.py")
                   and p.name not in layout)]
    assert not unnamed, f"the README's Layout does not name {unnamed}"
