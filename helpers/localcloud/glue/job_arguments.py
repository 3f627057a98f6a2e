"""The arguments a Glue job run's script receives, and the special parameters the local cloud reads.

https://docs.aws.amazon.com/glue/latest/dg/aws-glue-programming-etl-glue-arguments.html: the
job's ``DefaultArguments``, overridden by the run's ``Arguments``, then the job's
``NonOverridableArguments`` (which no run can change), are passed to the script as ``--name value``
pairs, after the ones Glue sets itself: ``--JOB_ID``, ``--JOB_RUN_ID``, ``--JOB_NAME`` and
``--TempDir`` (by default ``s3://aws-glue-assets-<account>-<region>/temporary/``).

Scripts read them with ``awsglue.utils.getResolvedOptions(sys.argv, [...])`` on AWS. The awsglue
library is not installed locally; a script that parses ``sys.argv`` itself (a few lines of
argparse that accept ``--NAME value`` and ignore the rest) runs unchanged on both clouds, e.g.::

    def resolved_options(argv, names):
        parser = argparse.ArgumentParser()
        for name in names:
            parser.add_argument(f"--{name}", required=True)
        return vars(parser.parse_known_args(argv[1:])[0])
"""

from __future__ import annotations

import hashlib

RESERVED = ("--JOB_ID", "--JOB_RUN_ID", "--JOB_NAME")


def merged_arguments(default: dict | None, run: dict | None, non_overridable: dict | None) -> dict[str, str]:
    merged = dict(default or {})
    merged.update(run or {})
    merged.update(non_overridable or {})
    return merged


def reserved_in(arguments: dict[str, str]) -> list[str]:
    """Names of arguments that only Glue may set."""
    return [name for name in arguments if name in RESERVED]


def job_id(job_name: str) -> str:
    """A stable ``j_...`` identifier of the job definition, as ``--JOB_ID`` carries it."""
    return "j_" + hashlib.sha256(job_name.encode()).hexdigest()


def default_temp_dir(account: str, region: str) -> str:
    return f"s3://aws-glue-assets-{account}-{region}/temporary/"


def script_argv(arguments: dict[str, str], *, job_name: str, run_id: str, temp_dir: str) -> list[str]:
    argv = ["--JOB_ID", job_id(job_name), "--JOB_RUN_ID", run_id, "--JOB_NAME", job_name]
    if "--TempDir" not in arguments:
        argv += ["--TempDir", temp_dir]
    for name, value in arguments.items():
        argv += [name, value]
    return argv
