#!/usr/bin/env bash
# Sets shell variables from --name value options, with Kaldi's parse_options.sh
# semantics. Source it after the script has set its options (anywhere: indented, inside
# an `if`, from another sourced file) and, optionally, help_message:
#
#   nj=4
#   help_message="Usage: $0 [options]"
#   . utils/parse_options.sh
#
#   --foo-bar VALUE / --foo_bar VALUE / --foo-bar=VALUE
#                   sets $foo_bar, which must already be set (possibly empty)
#   --config FILE   sources FILE (name=value lines) before every other option, so the
#                   command line wins over it; repeatable; FILE must exist
#   --help / -h     prints $help_message and exits 0 (utils/print_options.sh SCRIPT
#                   lists a script's options with defaults, for its help_message)
#   --              ends the options
#
# Parsing stops at the first argument that is not an option; it and the rest stay in
# "$@". An unknown option prints "parse_options.sh: unknown option --foo-bar" and
# help_message to stderr and exits 1. As in Kaldi, any variable set at this point is an
# option, one that came from the environment too (a user who exported `nj` can still
# pass `--nj`); unlike Kaldi, all-uppercase names (PATH, HOME, ...), names starting
# with `_` and help_message are not, so `--PATH x` is an error, not a silent override.

# 0 if --$1 names a variable this script may set.
_po_is_option() {
    [[ "$1" =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]] || return 1
    [[ "$1" == _* || "$1" == help_message || "$1" =~ ^[A-Z0-9_]+$ ]] && return 1
    [ -n "${!1+set}" ]
}

_po_unknown() {
    echo "parse_options.sh: unknown option $1 (see $0 --help)" >&2
    if [ -n "${help_message:-}" ]; then echo "${help_message}" >&2; fi
    exit 1
}

# First pass: the --config files of the option part, sourced in order.
_po_i=1
while [ "${_po_i}" -le $# ]; do
    _po_arg=${!_po_i}
    case "${_po_arg}" in
        --help|-h|--) break ;;
        --config=*) _po_file=${_po_arg#--config=} ;;
        --config)
            _po_i=$((_po_i + 1))
            if [ "${_po_i}" -gt $# ]; then
                echo "$0: option --config needs a value" >&2; exit 1
            fi
            _po_file=${!_po_i} ;;
        --*=*) _po_i=$((_po_i + 1)); continue ;;
        --*) _po_i=$((_po_i + 2)); continue ;;
        *) break ;;
    esac
    if [ ! -f "${_po_file}" ]; then
        echo "parse_options.sh: --config ${_po_file}: no such file" >&2; exit 1
    fi
    # shellcheck disable=SC1090
    . "${_po_file}"
    _po_i=$((_po_i + 1))
done

while [ $# -gt 0 ]; do
    case "$1" in
        --help|-h) echo "${help_message:-}"; exit 0 ;;
        --) shift; break ;;
        --config=*) shift; continue ;;
        --config) shift 2; continue ;;
        --*=*) _po_opt=${1%%=*}; _po_value=${1#*=}; shift ;;
        --*)
            if [ $# -lt 2 ]; then echo "$0: option $1 needs a value" >&2; exit 1; fi
            _po_opt=$1; _po_value=$2; shift 2 ;;
        *) break ;;
    esac
    _po_name=${_po_opt#--}
    _po_name=${_po_name//-/_}
    _po_is_option "${_po_name}" || _po_unknown "${_po_opt}"
    printf -v "${_po_name}" '%s' "${_po_value}"
done
unset _po_i _po_arg _po_file _po_opt _po_name _po_value
unset -f _po_is_option _po_unknown
