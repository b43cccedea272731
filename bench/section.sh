# Sourced by the bench scripts: write_section HEADING TEXT puts TEXT (which starts with HEADING) in place of
# the section of bench/RESULTS.md under that heading, up to the next "## ", or at the end when there is none.
write_section() {
    python3 - "$ROOT/bench/RESULTS.md" "$1" "$2" <<'PY' || { printf '\n%s\n' "$2" >>"$ROOT/bench/RESULTS.md"; }
import sys
path, head, section = sys.argv[1], sys.argv[2], sys.argv[3]
text = open(path).read()
start = text.find(head)
if start < 0:
    text = text.rstrip("\n") + "\n\n" + section + "\n"
else:
    nxt = text.find("\n## ", start + len(head))
    text = text[:start] + section + "\n" + (text[nxt:] if nxt >= 0 else "")
open(path, "w").write(text)
PY
}
