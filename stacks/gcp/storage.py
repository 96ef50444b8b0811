"""The data lake bucket, Kestra's internal-storage bucket and the BigQuery dataset.

This replaces the course's 05_gcp_setup flow, which created the bucket and dataset from
Kestra with broad credentials. Here they are created once, reviewed in a plan, and protected:
neither `terraform destroy` nor a stray flow can take their contents unless sandbox mode
(ZOOMCAMP_SANDBOX=true) was chosen when they were deployed.
"""

from __future__ import annotations

from dataclasses import dataclass

from cdktf_cdktf_provider_google.bigquery_dataset import BigqueryDataset
from cdktf_cdktf_provider_google.storage_bucket import (
    StorageBucket,
    StorageBucketLifecycleRule,
    StorageBucketLifecycleRuleAction,
    StorageBucketLifecycleRuleCondition,
    StorageBucketSoftDeletePolicy,
    StorageBucketVersioning,
)
from constructs import Construct

# The course's flows upload each month as `{taxi}_tripdata_{YYYY}-{MM}.csv` at the bucket's
# root; once loaded into BigQuery it can be downloaded again, so it need not be kept forever.
RAW_CSV_PREFIXES = ("yellow_tripdata_", "green_tripdata_", "fhv_tripdata_")
RAW_CSV_SUFFIXES = (".csv", ".csv.gz")
NONCURRENT_VERSION_DAYS = 7
SOFT_DELETE_SECONDS = 7 * 24 * 3600


@dataclass(frozen=True, kw_only=True)
class BucketProps:
    name: str
    location: str
    sandbox: bool
    purpose: str
    raw_csv_retention_days: int | None = None  # None: no rule for raw CSVs


def _delete(condition: StorageBucketLifecycleRuleCondition) -> StorageBucketLifecycleRule:
    return StorageBucketLifecycleRule(action=StorageBucketLifecycleRuleAction(type="Delete"), condition=condition)


class ProtectedBucket(Construct):
    """Uniform access, public access prevention, versioning and soft delete: recoverable and private."""

    def __init__(self, scope: Construct, id_: str, *, props: BucketProps) -> None:
        super().__init__(scope, id_)
        rules = [
            # Versioning keeps an overwritten month for a week, not forever.
            _delete(StorageBucketLifecycleRuleCondition(days_since_noncurrent_time=NONCURRENT_VERSION_DAYS)),
            StorageBucketLifecycleRule(
                action=StorageBucketLifecycleRuleAction(type="AbortIncompleteMultipartUpload"),
                condition=StorageBucketLifecycleRuleCondition(age=1),
            ),
        ]
        if props.raw_csv_retention_days is not None:
            rules.insert(
                0,
                _delete(
                    StorageBucketLifecycleRuleCondition(
                        age=props.raw_csv_retention_days,
                        matches_prefix=list(RAW_CSV_PREFIXES),
                        matches_suffix=list(RAW_CSV_SUFFIXES),
                    )
                ),
            )
        self.bucket = StorageBucket(
            self,
            "bucket",
            name=props.name,
            location=props.location.upper(),
            storage_class="STANDARD",
            uniform_bucket_level_access=True,
            public_access_prevention="enforced",
            versioning=StorageBucketVersioning(enabled=True),
            soft_delete_policy=StorageBucketSoftDeletePolicy(retention_duration_seconds=SOFT_DELETE_SECONDS),
            lifecycle_rule=rules,
            # Only sandbox mode lets `destroy` delete a bucket that still holds objects.
            force_destroy=props.sandbox,
            labels={"purpose": props.purpose},
        )


@dataclass(frozen=True, kw_only=True)
class DataLakeProps:
    location: str
    data_bucket: str
    internal_storage_bucket: str
    dataset: str
    sandbox: bool
    raw_csv_retention_days: int


class DataLake(Construct):
    def __init__(self, scope: Construct, id_: str, *, props: DataLakeProps) -> None:
        super().__init__(scope, id_)
        self.data_bucket = ProtectedBucket(
            self,
            "data",
            props=BucketProps(
                name=props.data_bucket,
                location=props.location,
                sandbox=props.sandbox,
                purpose="data-lake",
                raw_csv_retention_days=props.raw_csv_retention_days,
            ),
        ).bucket
        self.internal_storage_bucket = ProtectedBucket(
            self,
            "kestra_storage",
            props=BucketProps(
                name=props.internal_storage_bucket,
                location=props.location,
                sandbox=props.sandbox,
                purpose="kestra-internal-storage",
            ),
        ).bucket
        self.dataset = BigqueryDataset(
            self,
            "dataset",
            dataset_id=props.dataset,
            # The bucket's region: BigQuery reads external tables only from a co-located bucket.
            location=props.location,
            friendly_name="NYC taxi data (zoomcamp)",
            description="Taxi trips loaded by the Kestra GCP flows; created by the gcp stack.",
            delete_contents_on_destroy=props.sandbox,
            labels={"purpose": "warehouse"},
        )
