"""Checkpoint codes cannot be guessed, altered or enumerated, and rotated ones are told apart from forged."""

from __future__ import annotations

from core.codes import MAC_LENGTH, ParsedCode, Verdict, judge, make_code, parse_code

SECRET = "test-secret"


def test_a_code_carries_its_id_and_version_and_opens_only_with_our_key():
    code = make_code(SECRET, 1393, 2)
    assert code.startswith("12p-2-") and len(code.split("-")[2]) == MAC_LENGTH
    assert parse_code(SECRET, code) == ParsedCode(1393, 2)
    assert parse_code(SECRET, code.upper()) == ParsedCode(1393, 2)  # scanners may shout
    assert parse_code("another-district", code) is None


def test_altering_any_part_breaks_it():
    code = make_code(SECRET, 42, 1)
    ident, version, mac = code.split("-")
    flipped = mac[:-1] + ("a" if mac[-1] != "a" else "b")
    for altered in [
        f"{ident}-{version}-{flipped}",
        f"17-{version}-{mac}",
        f"{ident}-2-{mac}",
        f"{ident}-{version}",
        code + "-x",
        "",
        "q" * 200,
        "zz-zz-zzzzzzzzzz",
        "1-1-!!!!!!!!!!",
        "1-1-é",  # non-ASCII: compared as bytes, never a TypeError (a 500 on /q/<code>)
        f"{ident}-{version}-{mac[:-1]}é",
    ]:
        assert parse_code(SECRET, altered) is None, altered


def test_neighbouring_checkpoints_share_nothing_to_go_by():
    macs = [make_code(SECRET, n, 1).split("-")[2] for n in range(1, 1394)]
    assert len(set(macs)) == len(macs)
    # No position of the MAC is predictable from the id: every character varies across checkpoints.
    assert all(len({m[i] for m in macs}) > 20 for i in range(MAC_LENGTH))


def test_rotation_tells_an_old_sign_from_a_forged_one():
    assert judge(ParsedCode(7, 3), current_version=3) is Verdict.VALID
    assert judge(ParsedCode(7, 2), current_version=3) is Verdict.REPLACED
    assert judge(ParsedCode(7, 4), current_version=3) is Verdict.FORGED
    assert judge(ParsedCode(7, 1), current_version=None) is Verdict.FORGED
    assert judge(None, current_version=3) is Verdict.FORGED
