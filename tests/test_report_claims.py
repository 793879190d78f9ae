"""The upstream report's stated values (lib/report/upstream_claims.yaml), as tables print them."""
import re

from lib.report.claims import upstream_claims

CJK = re.compile(r"[\u4e00-\u9fff]")


def strings(value):
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from strings(v)


def test_every_chinese_value_a_table_prints_carries_its_english():
    untranslated = [s for s in strings(upstream_claims()) if CJK.search(s) and not re.search(r"\([^)]*[A-Za-z]", s)]
    assert not untranslated, untranslated
