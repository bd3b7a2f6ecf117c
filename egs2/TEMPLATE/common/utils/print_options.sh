#!/usr/bin/env bash
# Usage: utils/print_options.sh SCRIPT
# Lists the options of SCRIPT for its --help: every `name=default  # comment` line above
# the line that sources parse_options.sh (indented ones too; help_message and names
# starting with `_` excepted), in script order, as
#
#   Options (default values):
#     # Data                                   <- a section heading
#       --nj                       4              # parallel jobs
#
# A comment line on its own just above an option (below a blank line or another option)
# is a section heading. The default is the text after `=` as written ("" if empty).
# A driver builds its help with it:
#   help_message="Usage: $0 [options]
#   $(utils/print_options.sh "${BASH_SOURCE[0]}")"
set -euo pipefail

if [ $# -ne 1 ] || [ ! -r "$1" ]; then
    echo "Usage: $0 SCRIPT (a readable shell script)" >&2
    exit 1
fi

echo "Options (default values):"
awk '
    function trim(s) { sub(/^[ \t]+/, "", s); sub(/[ \t]+$/, "", s); return s }
    /^[ \t]*\.[ \t].*parse_options\.sh/ { exit }
    /^[ \t]*[A-Za-z_][A-Za-z0-9_]*=/ {
        line = $0; sub(/^[ \t]+/, "", line)
        eq = index(line, "=")
        name = substr(line, 1, eq - 1)
        if (name == "help_message" || name ~ /^_/ || seen[name]++) {
            heading = ""; prev = $0; next
        }
        # A trailing comment: "#" after a blank, outside quotes.
        rest = substr(line, eq + 1); comment = ""; value = rest
        for (i = 2; i <= length(rest); i++) {
            if (substr(rest, i, 1) != "#" || substr(rest, i - 1, 1) !~ /[ \t]/) continue
            pre = substr(rest, 1, i - 1)
            if (gsub(/"/, "", pre) % 2 == 0 && gsub(/\047/, "", pre) % 2 == 0) {
                comment = trim(substr(rest, i + 1)); value = substr(rest, 1, i - 1)
                break
            }
        }
        value = trim(value)
        if (value == "") value = "\"\""
        if (heading != "") printf "  # %s\n", heading
        heading = ""
        if (comment != "") printf "    --%-24s %-14s # %s\n", name, value, comment
        else printf "    --%-24s %s\n", name, value
        prev = $0; next
    }
    /^[ \t]*#([ \t]|$)/ {
        heading = ""
        if (prev ~ /^[ \t]*$/ || prev ~ /^[ \t]*[A-Za-z_][A-Za-z0-9_]*=/) {
            heading = $0; sub(/^[ \t]*#/, "", heading); heading = trim(heading)
        }
        prev = $0; next
    }
    { heading = ""; prev = $0 }
' "$1"
