#!/usr/bin/env bash
# Kaldi run.pl calling convention on this machine (see espnet2_ext/stages/jobs.py):
#   run.pl [--gpu N] [--mem M] [--num_threads N] [JOB=1:N] LOG COMMAND...
exec python3 -m espnet2_ext.stages.jobs --backend local "$@"
