"""The report's site on fabricated report folders: the index gives the headline first, pages link in order."""
import json
import math
import shutil

import nbformat
import pandas as pd
from bs4 import BeautifulSoup
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from lib.report import runner, site

PROV = {"created": "2026-01-02T03:04:05+00:00", "git": {"commit": "abc123", "dirty": True}, "python": "3.11.7",
        "packages": {"torch": "2.4.0"}, "seconds": 123.4}
PAGES = [site.Page("01_environment", "1. Environment", 12.3), site.Page("04_comparison", "4. Comparison", 45.6),
         site.Page("08_conclusions", "9. 結論 / Conclusions", 7.0)]


def fabricate_comparison(out, numbers=True, figure=True):
    sec = out / "04_comparison"
    (sec / "tables").mkdir(parents=True, exist_ok=True)
    nan = math.nan
    rows = [  # method, seeds, mAP50 (mean, low, high), view_accuracy (...), delta_m % (...)
        ("gradnorm", 3, 0.61234, 0.58, 0.644, 0.9876, 0.97, 1.02, 7.04, 2.0, 12.06),
        ("a<b", 3, 0.5, 0.5, 0.5, nan, nan, nan, -1.25, -3.0, 0.5),
        ("det_only", 3, 0.55, 0.5, 0.6, nan, nan, nan, nan, nan, nan),
    ]
    cols = ["seeds"] + [f"{m}{s}" for m in ("mAP50", "view_accuracy", "delta_m %") for s in ("", " low", " high")]
    table = pd.DataFrame([r[1:] for r in rows], index=pd.Index([r[0] for r in rows], name="method"), columns=cols)
    if numbers:
        table.to_csv(sec / "tables" / "comparison_numbers.csv", float_format="%.6g")
    else:  # only the shown table, one seed: plain numbers and n/a
        shown = table[["seeds", "mAP50", "view_accuracy", "delta_m %"]].rename(
            columns={"mAP50": "mAP@0.5", "view_accuracy": "view accuracy"})
        shown.to_csv(sec / "tables" / "comparison.csv", na_rep="n/a")
    if figure:
        (sec / "figures").mkdir(exist_ok=True)
        (sec / "figures" / "pareto.png").write_bytes(b"\x89PNG\r\n\x1a\n")


def headline_cells(html):
    soup = BeautifulSoup(html, "html.parser")
    table = soup.find("table", class_="headline")
    header = [th.get_text() for th in table.find_all("th")]
    return header, {tr.find("td").get_text(): [td.get_text() for td in tr.find_all("td")[1:]]
                    for tr in table.find("tbody").find_all("tr")}


def test_index_opens_with_the_headline_table_and_figure_then_the_sections_in_order(tmp_path):
    fabricate_comparison(tmp_path)
    html = site.write_index(tmp_path, PAGES, "default", PROV).read_text()
    header, rows = headline_cells(html)
    assert header == ["method", "seeds", "mAP@0.5", "view accuracy", "Δm%"]
    assert rows["gradnorm"] == ["3", "0.612 [0.580, 0.644]", "0.988 [0.970, 1.000†]", "7.0 [2.0, 12.1]"]  # cut at 1
    assert rows["a<b"] == ["3", "0.500", "n/a", "-1.2 [-3.0, 0.5]"]  # escaped in the HTML, no interval without spread
    assert rows["det_only"] == ["3", "0.550 [0.500, 0.600]", "n/a", "n/a"]
    assert "a&lt;b" in html and "a<b" not in html
    soup = BeautifulSoup(html, "html.parser")
    assert soup.find("img")["src"] == "04_comparison/figures/pareto.png"
    assert "highest" not in html and "One seed" not in html  # no winner read from means
    # the answer comes before the list of sections, which keeps the run order and times
    assert html.index('class="headline"') < html.index("<img") < html.index("<h2>Sections")
    items = soup.find("ul").find_all("li")
    assert [li.a["href"] for li in items] == ["01_environment.html", "04_comparison.html", "08_conclusions.html"]
    assert [li.a.get_text() for li in items] == [p.title for p in PAGES]
    assert "(46 s)" in items[1].get_text()
    prov = soup.find("p", class_="provenance").get_text()
    for part in ("default", "abc123", "uncommitted changes", "2026-01-02T03:04:05+00:00", "123 s", "2.4.0"):
        assert part in prov
    assert site.write_index(tmp_path, PAGES, "default", PROV).read_text() == html  # deterministic


def test_index_falls_back_to_the_shown_table(tmp_path):
    fabricate_comparison(tmp_path, numbers=False, figure=False)
    html = site.index_html(tmp_path, PAGES, "smoke", PROV)
    _, rows = headline_cells(html)
    assert rows["gradnorm"] == ["3", "0.612", "0.988", "7.0"]
    assert rows["det_only"] == ["3", "0.550", "n/a", "n/a"]
    assert "<img" not in html and "wrote no figure" in html


def test_index_without_the_comparison_says_the_headline_is_not_available(tmp_path):
    fabricate_comparison(tmp_path)  # an earlier run's tables are not this report's headline
    pages = [p for p in PAGES if p.stem != "04_comparison"]
    for out in (tmp_path, tmp_path / "empty"):
        html = site.index_html(out, pages if out == tmp_path else PAGES, "smoke", PROV)
        assert "The headline comparison is not available" in html
        assert 'class="headline"' not in html and "<img" not in html
        items = BeautifulSoup(html, "html.parser").find("ul").find_all("li")
        assert len(items) == (2 if out == tmp_path else 3)


def nav_links(html):
    navs = BeautifulSoup(html, "html.parser").find_all("nav", class_="report-nav")
    assert len(navs) == 2, "a nav at the top and at the bottom"
    links = [{a["rel"][0]: (a["href"], a.get_text()) for a in n.find_all("a")} for n in navs]
    assert links[0] == links[1]
    return links[0]


def notebook(title):
    return new_notebook(cells=[new_markdown_cell(f"# {title}\ntext"), new_code_cell("1 + 1")])


def test_each_page_links_to_the_index_and_its_neighbours():
    first, middle, last = (site.render_page(notebook(p.title), False, PAGES, i) for i, p in enumerate(PAGES))
    assert nav_links(first) == {"index": ("index.html", "Index"), "next": ("04_comparison.html", "4. Comparison →")}
    assert nav_links(middle) == {"index": ("index.html", "Index"),
                                 "prev": ("01_environment.html", "← 1. Environment"),
                                 "next": ("08_conclusions.html", "9. 結論 / Conclusions →")}
    assert nav_links(last) == {"index": ("index.html", "Index"), "prev": ("04_comparison.html", "← 4. Comparison")}
    soup = BeautifulSoup(middle, "html.parser")
    assert soup.title.get_text() == "4. Comparison"
    main = soup.find("main")
    assert main.find_all(recursive=False)[0].name == "nav" and main.find_all(recursive=False)[-1].name == "nav"
    def code_shown(html):
        code_cell = BeautifulSoup(html, "html.parser").find("div", class_="jp-CodeCell")
        return code_cell.find(class_="jp-InputArea") is not None

    assert not code_shown(middle) and code_shown(site.render_page(notebook("x"), True, PAGES, 1))


def test_run_report_writes_linked_pages_and_the_headline(tmp_path, monkeypatch):
    src = tmp_path / "src"
    src.mkdir()
    for stem, title in (("01_environment", "1. Env"), ("04_comparison", "4. Comparison"), ("08_conclusions", "9. End")):
        nbformat.write(notebook(title), src / f"{stem}.ipynb")
    out = tmp_path / "out"

    def execute(nb, params, out_dir, timeout):  # no kernel: the "executed" notebook is the source
        if nb.stem == "04_comparison":
            fabricate_comparison(out_dir)
        return shutil.copy(nb, out_dir / nb.name) and out_dir / nb.name

    monkeypatch.setattr(runner, "notebook_parameters", lambda profile, only=None: [(p, {}) for p in sorted(src.glob("*.ipynb"))])
    monkeypatch.setattr(runner, "execute", execute)
    monkeypatch.setattr(runner, "prefetch", lambda steps, profile: (0.0, 1))  # stand-ins train no run
    index = runner.run_report("smoke", output_dir=str(out))
    _, rows = headline_cells(index.read_text())
    assert rows["gradnorm"][1] == "0.612 [0.580, 0.644]"
    assert nav_links((out / "04_comparison.html").read_text()) == {
        "index": ("index.html", "Index"), "prev": ("01_environment.html", "← 1. Env"),
        "next": ("08_conclusions.html", "9. End →")}
    assert "next" not in nav_links((out / "08_conclusions.html").read_text())
    assert json.loads((out / "provenance.json").read_text())["profile"] == "smoke"
