#!/bin/sh
# setup_venv.sh: makes tools/.venv, the Python environment of the reference scripts that write tests/data goldens.
# Not needed by `make test`. torch comes from Debian (python3-torch) so no multi-GB wheel is downloaded.
set -eu
cd "$(dirname "$0")"
SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq python3-venv python3-torch python3-torchaudio python3-numpy python3-scipy
[ -x .venv/bin/python ] || /usr/bin/python3 -m venv --system-site-packages .venv
.venv/bin/pip install -q -c constraints.txt -r requirements.txt
.venv/bin/python -c "import torch, transformers, encodec, bark; print('tools/.venv ready: torch', torch.__version__, 'transformers', transformers.__version__)"
