# Job backends, Kaldi style: every command is run as
#   ${cmd} [--gpu N] [--mem M] [--num_threads N] JOB=1:N LOG COMMAND...
# cmd_backend=local runs on this machine; slurm submits with sbatch. To use your
# cluster's own slurm.pl / queue.pl, point the *_cmd variables at it.
cmd_backend=${cmd_backend:-local}

case ${cmd_backend} in
    local)
        export train_cmd="utils/run.pl"
        export cuda_cmd="utils/run.pl"
        export decode_cmd="utils/run.pl"
        ;;
    slurm)
        # One sbatch --array job per command. Site settings (partition, account, time
        # limits, how --mem/--gpu/--num_threads map to sbatch flags) are read from the
        # recipe's conf/slurm.conf (Kaldi slurm.pl format); without one, the default
        # ../common/conf/slurm.conf (egs2/TEMPLATE/common/conf/slurm.conf) is used.
        export train_cmd="utils/slurm.pl"
        export cuda_cmd="utils/slurm.pl"
        export decode_cmd="utils/slurm.pl"
        ;;
    *) echo "cmd.sh: unknown cmd_backend '${cmd_backend}' (local or slurm)" >&2; return 1 ;;
esac
