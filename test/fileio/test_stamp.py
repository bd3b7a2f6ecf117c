"""Stage stamps: what a finished stage was made from, and what changed since."""

import json

from espnet2_ext.fileio import stamp as st


def test_file_digest_is_the_sha256_of_the_content(tmp_path):
    f = tmp_path / "text.de"
    f.write_bytes(b"u1 hallo\n")
    # the digest of `printf 'u1 hallo\n' | sha256sum`
    assert st.file_digest(f) == (
        "sha256:cc4b0348d25b62c0bfebcabba879aa3d6cbb18e7889c3568543d181fd7d7bfff"
    )
    assert st.file_digest(tmp_path / "none") == "missing"


def test_a_stamp_counts_by_its_fingerprint_not_its_bytes(tmp_path):
    src = tmp_path / "in.txt"
    src.write_text("a\n")
    marker = tmp_path / "s3" / ".done"
    stamp = st.make_stamp([src], {"fs": 16000})
    st.write_stamp(marker, stamp)
    assert st.file_digest(marker) == f"stamp:{stamp.fingerprint()}"
    data = json.loads(marker.read_text())
    data["because"] = "something else"  # not part of the fingerprint
    marker.write_text(json.dumps(data))
    assert st.file_digest(marker) == f"stamp:{stamp.fingerprint()}"


def test_fingerprint_keys_inputs_options_and_items_not_the_bookkeeping():
    base = dict(
        inputs={"a": "sha256:1"}, options={"lr": "0.1"}, items={"u1": "x", "u2": "y"}
    )
    key = st.Stamp(**base).fingerprint()
    assert len(key) == 64 and int(key, 16) >= 0
    # the same content in another order, with other bookkeeping: the same key
    same = st.Stamp(
        inputs={"a": "sha256:1"},
        options={"lr": "0.1"},
        items={"u2": "y", "u1": "x"},
        item_label="audio of",
        state="running",
        because="a changed",
    )
    assert same.fingerprint() == key
    # any other input, option or item: another key
    for field, value in [
        ("inputs", {"a": "sha256:2"}),
        ("inputs", {"b": "sha256:1"}),
        ("options", {"lr": "0.2"}),
        ("options", {"lr": "0.1", "seed": "0"}),
        ("items", {"u1": "x", "u2": "z"}),
        ("items", {"u1": "x"}),
        ("items", {"u1": "y", "u2": "x"}),  # the same digests under other names
    ]:
        assert st.Stamp(**dict(base, **{field: value})).fingerprint() != key
    # an option and an item of the same name and value are not confused
    assert (
        st.Stamp(options={"u": "x"}).fingerprint()
        != st.Stamp(items={"u": "x"}).fingerprint()
    )


def test_check_reports_new_done_and_each_kind_of_change(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    a.write_text("1")
    b.write_text("2")
    marker = tmp_path / ".done"
    old = st.make_stamp([a, b], {"lr": 0.1}, {"u1": "x", "u2": "y"}, "audio of")
    assert st.check_stamp(marker, old).status == "new"
    st.write_stamp(marker, old)
    same = st.make_stamp([a, b], {"lr": 0.1}, {"u1": "x", "u2": "y"}, "audio of")
    assert st.check_stamp(marker, same)[:2] == ("done", "")

    a.write_text("changed")
    b.unlink()
    c = tmp_path / "c"
    new = st.make_stamp([a, b, c], {"lr": 0.2}, {"u1": "z", "u3": "w"}, "audio of")
    check = st.check_stamp(marker, new)
    assert check.status == "changed"
    assert check.reason == (
        f"{a} changed; {b} was removed; {c} is a new input; and 2 more"
    )
    reasons = [r for r, _ in st.differences(check.previous, new)]
    assert reasons[3:] == [
        "option lr changed (0.1 -> 0.2)",
        "audio of 'u1' changed (3 changed in all)",  # u1, new u3, gone u2,
    ]


def test_a_remade_earlier_stage_is_named_with_its_root_cause(tmp_path):
    user = tmp_path / "text.de"
    user.write_text("u1 a\n")
    s3, s4 = tmp_path / "org" / ".done", tmp_path / "final" / ".done"
    st.write_stamp(s3, st.make_stamp([user]))
    output = s3.parent / "text.de"
    output.write_text("u1 a\n")
    st.write_stamp(s4, st.make_stamp([s3, output]))

    user.write_text("u1 b\n")
    stamp3 = st.make_stamp([user])
    check3 = st.check_stamp(s3, stamp3)
    assert (check3.reason, check3.root) == (f"{user} changed",) * 2
    stamp3.because = check3.root
    st.write_stamp(s3, stamp3)

    output.write_text("u1 b\n")  # stage 3's output, changed with it
    check4 = st.check_stamp(s4, st.make_stamp([s3, output]))
    assert check4.status == "changed"
    assert check4.reason == f"{s3.parent} was remade ({user} changed)"
    assert check4.root == f"{user} changed"  # not nested further down the chain


def test_running_stamp_resumes_or_changes_and_finish_makes_it_done(tmp_path):
    f = tmp_path / "in"
    f.write_text("1")
    marker = tmp_path / "exp" / ".train.done"
    st.start_stamp(marker, st.make_stamp([f]))
    assert not marker.exists() and st.running_path(marker).exists()
    assert st.check_stamp(marker, st.make_stamp([f])).status == "resume"
    f.write_text("2")
    assert st.check_stamp(marker, st.make_stamp([f]))[:2] == (
        "changed",
        f"{f} changed",
    )
    st.start_stamp(marker, st.make_stamp([f]))
    assert st.read_stamp(st.running_path(marker)).because == f"{f} changed"
    st.finish_stamp(marker)
    assert marker.exists() and not st.running_path(marker).exists()
    assert st.check_stamp(marker, st.make_stamp([f])).status == "done"


def test_an_empty_marker_of_an_older_version_counts_as_done(tmp_path):
    marker = tmp_path / ".done"
    marker.touch()
    check = st.check_stamp(marker, st.make_stamp([]))
    assert check.status == "done"
    assert check.reason == (
        f"{marker} records no inputs (written by an older version) - delete it to"
        " redo the stage"
    )


def test_cli_check_start_finish(tmp_path, capsys):
    f = tmp_path / "cfg.yaml"
    f.write_text("lr: 1\n")
    marker = str(tmp_path / ".done")
    args = [marker, "--input", str(f), "--option", "args=--lr 1"]
    st.main(["check", *args])
    assert capsys.readouterr().out == "new\t\n"
    st.main(["start", *args])
    st.main(["finish", marker])
    st.main(["check", *args])
    assert capsys.readouterr().out == "done\t\n"
    st.main(["check", marker, "--input", str(f), "--option", "args=--lr 2"])
    assert (
        capsys.readouterr().out == "changed\toption args changed (--lr 1 -> --lr 2)\n"
    )
