"""The deploy wrappers behind `make deploy-local` and `make deploy-gcp`.

A bare `cdktf deploy` leaves a learner with a spinner, a wall of Terraform output and no
idea what to do next. These wrappers announce each step as it starts, let cdktf stream its
own output, wait for Kestra with the elapsed time shown, and end with what matters: the URL,
where the passwords are, which flows were loaded, how to run one, how to reach the taxi
database and how to remove it all. Every failure is one line (`DEBUG=1` for a traceback).

    python -m ops.deploy local|gcp
"""
