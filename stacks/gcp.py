"""The `gcp` stack: data lake, warehouse, service identity and Kestra on Compute Engine.

The google provider's jsii assembly costs seconds and hundreds of MB to load, so it is
imported inside the constructor: building only the local stack never pays for it.
"""

from __future__ import annotations

from cdktf import TerraformStack
from constructs import Construct

from stacks.settings import Settings


class GcpStack(TerraformStack):
    def __init__(self, scope: Construct, id_: str, settings: Settings) -> None:
        super().__init__(scope, id_)
        from cdktf_cdktf_provider_google.provider import GoogleProvider

        GoogleProvider(self, "google", project=settings.gcp.project_id, region=settings.gcp.region)
