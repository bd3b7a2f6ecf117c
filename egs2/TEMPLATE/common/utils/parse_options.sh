#!/usr/bin/env bash
# Sets shell variables from --name value options (Kaldi's convention). Source it after
# the script has assigned its options and help_message:
#
#   # Data                         <- a section heading in --help
#   nj=4              # parallel jobs (this comment is the option's help text)
#   help_message="Usage: $0 [options]"
#   . utils/parse_options.sh
#
#   --some-name VALUE / --some_name=VALUE   sets $some_name
#   --help / -h                             prints $help_message, then every option in
#                                           script order with its default and comment
#
# The options are the variables the sourcing script assigns at the start of a line
# (`name=value`) above the line that sources this file (help_message and names starting
# with `_` excepted). A comment line on its own just above an option (below a blank line
# or another option) is printed as a section heading. Environment and shell variables are not options:
# `--PATH x` is an unknown option. Only when the sourcing script's text cannot be read
# (e.g. sourced from an interactive shell) is every variable already set accepted, as
# in Kaldi. Unknown options are errors; positional arguments stay in "$@".

# Prints "S<TAB>heading" and "O<TAB>name<TAB>comment" lines for the options that the
# script $1 assigns above its line $2.
_po_scan() {
    awk -v last="$2" '
        FNR >= last { exit }
        /^[A-Za-z_][A-Za-z0-9_]*=/ {
            eq = index($0, "=")
            name = substr($0, 1, eq - 1)
            if (name == "help_message" || name ~ /^_/ || seen[name]++) {
                heading = ""; prev = $0; next
            }
            if (heading != "") print "S\t" heading
            heading = ""
            # A trailing comment: "#" after a blank, outside quotes.
            rest = substr($0, eq + 1); comment = ""
            for (i = 2; i <= length(rest); i++) {
                if (substr(rest, i, 1) != "#" || substr(rest, i - 1, 1) !~ /[ \t]/) continue
                pre = substr(rest, 1, i - 1)
                if (gsub(/"/, "", pre) % 2 == 0 && gsub(/\047/, "", pre) % 2 == 0) {
                    comment = substr(rest, i + 1); sub(/^[ \t]+/, "", comment); break
                }
            }
            print "O\t" name "\t" comment
            prev = $0; next
        }
        /^#([ \t]|$)/ {
            heading = ""
            if (prev ~ /^[ \t]*$/ || prev ~ /^[A-Za-z_][A-Za-z0-9_]*=/) { heading = substr($0, 2); sub(/^[ \t]+/, "", heading) }
            prev = $0; next
        }
        { heading = ""; prev = $0 }
    ' "$1"
}

# Quotes a value for display when it is empty or has blanks.
_po_show() {
    if [ -z "$1" ] || [[ "$1" == *[[:space:]]* ]]; then printf '"%s"' "$1"; else printf '%s' "$1"; fi
}

_po_print_help() {
    echo "${help_message:-}"
    echo "Options (default values):"
    local i=0 kind name comment
    for i in "${!_po_entries[@]}"; do
        IFS=$'\t' read -r kind name comment <<<"${_po_entries[i]}"
        if [ "${kind}" = S ]; then
            printf '  # %s\n' "${name}"
        elif [ -n "${comment}" ]; then
            printf '    --%-24s %-14s # %s\n' "${name}" "$(_po_show "${_po_defaults[i]}")" \
                "${comment}"
        else
            printf '    --%-24s %s\n' "${name}" "$(_po_show "${_po_defaults[i]}")"
        fi
    done
}

_po_entries=()
_po_defaults=()
_po_known=
_po_script=${BASH_SOURCE[1]:-}
if [ -n "${_po_script}" ] && [ -r "${_po_script}" ]; then
    while IFS= read -r _po_line; do
        IFS=$'\t' read -r _po_kind _po_name _po_rest <<<"${_po_line}"
        if [ "${_po_kind}" = O ]; then
            declare -p "${_po_name}" >/dev/null 2>&1 || continue
            _po_known+=" ${_po_name}"
            _po_defaults+=("${!_po_name}")
        else
            _po_defaults+=("")
        fi
        _po_entries+=("${_po_line}")
    done < <(_po_scan "${_po_script}" "${BASH_LINENO[0]}")
else
    for _po_name in $(compgen -v); do
        case ${_po_name} in
            _*|help_message|BASH*|PIPESTATUS|FUNCNAME|LINENO|RANDOM|SECONDS) continue ;;
        esac
        _po_known+=" ${_po_name}"
        _po_entries+=("O"$'\t'"${_po_name}"$'\t')
        _po_defaults+=("${!_po_name}")
    done
fi

while [ $# -gt 0 ]; do
    case "$1" in
        --help|-h) _po_print_help; exit 0 ;;
        --*=*) _po_name=${1%%=*}; _po_value=${1#*=}; shift ;;
        --*)
            if [ $# -lt 2 ]; then echo "$0: option $1 needs a value" >&2; exit 1; fi
            _po_name=$1; _po_value=$2; shift 2 ;;
        *) break ;;
    esac
    _po_name=${_po_name#--}; _po_name=${_po_name//-/_}
    if [[ " ${_po_known} " != *" ${_po_name} "* ]]; then
        echo "$0: unknown option --${_po_name} (see $0 --help)" >&2
        exit 1
    fi
    printf -v "${_po_name}" '%s' "${_po_value}"
done
unset _po_entries _po_defaults _po_known _po_script _po_line _po_kind _po_name _po_rest \
    _po_value
unset -f _po_scan _po_show _po_print_help
