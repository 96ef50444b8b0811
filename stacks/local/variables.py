"""The local stack's sensitive Terraform variables: the passwords, Kestra's encryption key, the Gemini key.

Their values never appear in the synthesized Terraform. They live in `.secrets/local.env`
(stacks/local/credentials.py), and main.py hands them to Terraform in a tfvars file beside the
stack. The validations repeat Kestra 1.3's basic-auth rule (stacks/basic_auth.py; the generated
database passwords follow it too), so a bad value stops `terraform plan` with one line instead of
a Kestra that starts without saving the login and answers every API call with 401.
"""

from __future__ import annotations

from cdktf import TerraformVariable, TerraformVariableValidationConfig
from constructs import Construct

from stacks.local.credentials import ENCRYPTION_KEY_VARIABLE, GEMINI_API_KEY_VARIABLE, KEYS, VARIABLES


def password_variable(scope: Construct, name: str) -> TerraformVariable:
    return TerraformVariable(
        scope,
        name,
        type="string",
        sensitive=True,
        nullable=False,
        description=f"{VARIABLES[name]}; `make deploy-local` sets it from .secrets/local.env",
        validation=[
            TerraformVariableValidationConfig(
                # `${...}`: in Terraform JSON a bare string is a literal, which init rejects as a condition.
                condition=(
                    f"${{length(var.{name}) >= 8 && length(var.{name}) <= 256"
                    f' && can(regex("[a-z]", var.{name})) && can(regex("[A-Z]", var.{name}))'
                    f' && can(regex("[0-9]", var.{name}))}}'
                ),
                error_message=(
                    "Use 8-256 characters with a lower-case letter, an upper-case letter and a digit "
                    "(Kestra 1.3's basic-auth rule)."
                ),
            )
        ],
    )


def encryption_key_variable(scope: Construct) -> TerraformVariable:
    return TerraformVariable(
        scope,
        ENCRYPTION_KEY_VARIABLE,
        type="string",
        sensitive=True,
        nullable=False,
        description=f"{KEYS[ENCRYPTION_KEY_VARIABLE]}; generated into .secrets/local.env on the first synth",
        validation=[
            TerraformVariableValidationConfig(
                condition=f'${{can(regex("^[A-Za-z0-9+/]{{43}}=$", var.{ENCRYPTION_KEY_VARIABLE}))}}',
                error_message="Use base64 of 32 random bytes (44 characters), e.g. from: openssl rand -base64 32.",
            )
        ],
    )


def gemini_api_key_variable(scope: Construct) -> TerraformVariable:
    return TerraformVariable(
        scope,
        GEMINI_API_KEY_VARIABLE,
        type="string",
        sensitive=True,
        nullable=False,
        description=(
            "your Gemini API key, for the AI flows and Kestra's AI Copilot; from GEMINI_API_KEY or "
            "TF_VAR_gemini_api_key in .secrets/local.env"
        ),
    )
