"""Embedding literal text in Terraform strings.

Terraform reads `${...}` and `%{...}` inside any string as its own template syntax, so text
that must reach a container or a VM verbatim (Kestra placeholders, shell scripts) is escaped
with this one function before it goes into a resource attribute.
"""


def literal(text: str) -> str:
    return text.replace("${", "$${").replace("%{", "%%{")
