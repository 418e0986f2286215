import pytest

from server.keys import InvalidKey, canonical_key

VALID = [
    ("arxiv:2401.01234", "arxiv:2401.01234"),
    ("arxiv:2401.01234v3", "arxiv:2401.01234"),
    ("2401.01234v2", "arxiv:2401.01234"),
    ("1501.0001", "arxiv:1501.0001"),
    ("math/0301001", "arxiv:math/0301001"),
    ("hep-th/9901001v2", "arxiv:hep-th/9901001"),
    ("math.AG/0301001", "arxiv:math.AG/0301001"),
    ("https://arxiv.org/abs/2401.01234v2", "arxiv:2401.01234"),
    ("https://arxiv.org/pdf/2401.01234v1.pdf", "arxiv:2401.01234"),
    ("https://arxiv.org/pdf/2401.01234", "arxiv:2401.01234"),
    ("https://arxiv.org/html/2401.01234v4", "arxiv:2401.01234"),
    ("http://export.arxiv.org/abs/math/0301001v1", "arxiv:math/0301001"),
    ("https://huggingface.co/papers/2401.01234", "arxiv:2401.01234"),
    ("https://www.alphaxiv.org/abs/2401.01234v2", "arxiv:2401.01234"),
    ("https://openreview.net/forum?id=AbC123xyz", "openreview:AbC123xyz"),
    ("https://openreview.net/pdf?id=AbC123xyz", "openreview:AbC123xyz"),
    ("openreview:AbC123xyz", "openreview:AbC123xyz"),
    ("doi:10.1145/3583780.ABC", "doi:10.1145/3583780.abc"),
    ("10.1000/XYZ", "doi:10.1000/xyz"),
    ("https://doi.org/10.1000/XYZ", "doi:10.1000/xyz"),
    ("https://www.semanticscholar.org/paper/Some-Title/" + "a" * 40, "s2:" + "a" * 40),
    ("demo:some-paper", "demo:some-paper"),
    ("ARXIV:2401.01234", "arxiv:2401.01234"),
    # compatibility forms (full-width digits, letters and colon) are the same paper after NFKC
    ("arxiv:\uff12\uff14\uff10\uff11.\uff10\uff11\uff12\uff13\uff14", "arxiv:2401.01234"),
    ("\uff12\uff14\uff10\uff11.\uff10\uff11\uff12\uff13\uff14v2", "arxiv:2401.01234"),
    ("\uff41\uff52\uff58\uff49\uff56\uff1a2401.01234", "arxiv:2401.01234"),
    ("doi:\uff11\uff10.1000/XYZ", "doi:10.1000/xyz"),
    ("doi:10.1234/" + "a" * 288, "doi:10.1234/" + "a" * 288),  # exactly 300 characters
]

INVALID = [
    "",
    "   ",
    "x",
    "arxiv:",
    "arxiv:24.1",
    "arxiv:2401.123",
    "doi:abc",
    "openreview:a b",
    "https://example.com/paper/1",
    "ftp://arxiv.org/abs/2401.01234",
    "https://openreview.net/forum",
    "https://arxiv.org/list/cs.LG/recent",
    "s2:xyz",
    "unknown:thing",
    "a" * 3000,
    # other scripts' digits are digits to `\d` but not to NFKC: they name no arXiv paper
    "arxiv:\u0662\u0664\u0660\u0661.\u0660\u0661\u0662\u0663\u0664",
    "openreview:abcd\n",  # a trailing newline is not part of an id
    "doi:10.1234/a\x00b",
    "doi:10.1234/a%00b",  # a NUL once percent-decoded
    "doi:10.1234/\ud800",
    "arxiv:2401.01234\x00",
    "doi:10.1234/" + "a" * 289,  # 301 characters: longer than the papers.key column
    "https://doi.org/10.1234/" + "a" * 289,
]


@pytest.mark.parametrize(("raw", "expected"), VALID)
def test_canonical_keys(raw: str, expected: str) -> None:
    assert canonical_key(raw) == expected


@pytest.mark.parametrize("raw", INVALID)
def test_invalid_keys_raise(raw: str) -> None:
    with pytest.raises(InvalidKey):
        canonical_key(raw)


def test_the_key_column_holds_every_canonical_key():
    from server.keys import MAX_KEY_LENGTH
    from server.models import Paper

    assert Paper.__table__.c.key.type.length == MAX_KEY_LENGTH


def test_error_messages_stay_short_for_huge_inputs():
    with pytest.raises(InvalidKey) as caught:
        canonical_key("doi:10.1234/" + "x" * 2000)
    assert len(str(caught.value)) < 200
