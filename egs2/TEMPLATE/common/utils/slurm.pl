#!/usr/bin/env bash
# Kaldi slurm.pl calling convention on Slurm (one sbatch --array --wait job, site
# settings from conf/slurm.conf, else egs2/TEMPLATE/common/conf/slurm.conf); see
# espnet2_ext/stages/jobs.py. Replace with your cluster's own slurm.pl if you have one.
exec python3 -m espnet2_ext.stages.jobs --backend slurm "$@"
