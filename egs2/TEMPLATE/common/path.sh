# Puts the project's Python environment and package on the path (sourced by recipes).
# The project root is found from this file's real location, so recipe directories may
# live anywhere as long as path.sh links here.
_this=$(readlink -f "${BASH_SOURCE[0]}")
export ESPNET2_EXT_ROOT=$(cd "$(dirname "${_this}")/../../.." && pwd -P)
if [ -z "${ESPNET2_EXT_PYTHON_ENV:-}" ]; then
    ESPNET2_EXT_PYTHON_ENV=$("${ESPNET2_EXT_ROOT}/tools/setup_env.sh") || return 1
    export ESPNET2_EXT_PYTHON_ENV
fi
export PATH="${ESPNET2_EXT_PYTHON_ENV}/bin:${PATH}"
export PYTHONPATH="${ESPNET2_EXT_ROOT}${PYTHONPATH:+:${PYTHONPATH}}"
export PYTHONIOENCODING=UTF-8
unset _this
