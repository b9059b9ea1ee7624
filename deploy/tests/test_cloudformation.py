"""CloudFormation templates: cfn-lint clean, and the settings the design
depends on are present."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest

import support
from support import CLOUDFORMATION

TEMPLATES = sorted(CLOUDFORMATION.glob("*.yaml"))
PER_ENVIRONMENT = {"database", "cache", "storage", "iam"}
# One EKS cluster (one namespace per environment), one VPC, one registry.
ACCOUNT_WIDE = {"network", "eks", "ecr", "github-oidc"}


def _load(name: str) -> dict:
    from cfnlint.decode import cfn_yaml

    return cfn_yaml.load(str(CLOUDFORMATION / f"{name}.yaml"))


def _resources(name: str, type_: str) -> dict[str, dict]:
    return {k: v for k, v in _load(name)["Resources"].items() if v["Type"] == type_}


def test_the_expected_templates_exist():
    assert {t.stem for t in TEMPLATES} == PER_ENVIRONMENT | ACCOUNT_WIDE


def test_cfn_lint_is_clean():
    cfn_lint = shutil.which("cfn-lint")
    assert cfn_lint, "cfn-lint is not on PATH (run through scripts/deploy-checks)"
    result = subprocess.run(
        [cfn_lint, "--format", "parseable", *map(str, TEMPLATES)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("name", sorted(PER_ENVIRONMENT))
def test_per_environment_templates_take_the_environment(name):
    param = _load(name)["Parameters"]["Environment"]
    assert param["AllowedValues"] == ["dev", "stage", "prod"]


def test_outputs_the_chart_and_workflows_need():
    expected = {
        "ecr": {"RegistryHost"},
        "github-oidc": {"ReleaseRoleArn", "DeployRoleArn"},
        "network": {"VpcId", "NodeSubnetIds"} | {f"{e.capitalize()}DataCidr" for e in support.ENVIRONMENTS},
        "eks": {"ClusterName", "OidcProviderArn", "OidcIssuer"},
        "database": {"DatabaseEndpoint", "MasterUserSecretArn"},
        "cache": {"RedisEndpoint", "RedisAuthTokenSecretArn"},
        "storage": {"DocumentBucketName"},
        "iam": {f"{s.capitalize()}RoleArn" for s in support.SERVICES},
    }
    for name, outputs in expected.items():
        assert outputs <= set(_load(name)["Outputs"]), name


def test_ecr_repositories():
    repos = _resources("ecr", "AWS::ECR::Repository")
    assert sorted(r["Properties"]["RepositoryName"] for r in repos.values()) == sorted(
        f"folio-{s}" for s in support.SERVICES
    )
    for repo in repos.values():
        props = repo["Properties"]
        assert props["ImageTagMutability"] == "IMMUTABLE"
        assert props["ImageScanningConfiguration"]["ScanOnPush"] is True
        assert props["EncryptionConfiguration"]["EncryptionType"] == "KMS"
        text = props["LifecyclePolicy"]["LifecyclePolicyText"]["Fn::Sub"]
        policy = json.loads(text.replace("${UntaggedImageDays}", "7").replace("${MaxTaggedImages}", "200"))
        assert {r["selection"]["tagStatus"] for r in policy["rules"]} == {"untagged", "any"}


def test_eks_cluster_node_group_and_irsa():
    cluster = _resources("eks", "AWS::EKS::Cluster")["Cluster"]["Properties"]
    assert cluster["EncryptionConfig"][0]["Resources"] == ["secrets"]
    assert cluster["ResourcesVpcConfig"]["EndpointPrivateAccess"] is True
    assert len(cluster["Logging"]["ClusterLogging"]["EnabledTypes"]) == 5
    assert _resources("eks", "AWS::EKS::Nodegroup")
    assert _resources("eks", "AWS::IAM::OIDCProvider")
    cni = _resources("eks", "AWS::EKS::Addon")["VpcCniAddon"]["Properties"]
    assert json.loads(cni["ConfigurationValues"]) == {"enableNetworkPolicy": "true"}
    template = _load("eks")["Resources"]["NodeLaunchTemplate"]["Properties"]["LaunchTemplateData"]
    assert template["MetadataOptions"]["HttpTokens"] == "required"
    assert template["MetadataOptions"]["HttpPutResponseHopLimit"] == 1


def test_rds_mysql():
    (db,) = _resources("database", "AWS::RDS::DBInstance").values()
    props = db["Properties"]
    assert props["Engine"] == "mysql"
    assert _load("database")["Parameters"]["EngineVersion"]["Default"].startswith("8.")
    assert props["StorageEncrypted"] is True
    assert props["MultiAZ"] == {"Fn::If": ["IsProd", True, False]}
    assert props["ManageMasterUserPassword"] is True
    assert "MasterUserPassword" not in props
    assert props["PubliclyAccessible"] is False
    assert db["DeletionPolicy"] == "Snapshot"
    (params,) = _resources("database", "AWS::RDS::DBParameterGroup").values()
    assert params["Properties"]["Parameters"]["require_secure_transport"] == "1"


def test_elasticache_redis():
    (group,) = _resources("cache", "AWS::ElastiCache::ReplicationGroup").values()
    props = group["Properties"]
    assert props["TransitEncryptionEnabled"] is True
    assert props["AtRestEncryptionEnabled"] is True
    assert "resolve:secretsmanager" in json.dumps(props["AuthToken"])
    (secret,) = _resources("cache", "AWS::SecretsManager::Secret").values()
    assert secret["Properties"]["GenerateSecretString"]["ExcludePunctuation"] is True


def test_s3_document_bucket():
    bucket = _resources("storage", "AWS::S3::Bucket")["DocumentBucket"]["Properties"]
    assert bucket["VersioningConfiguration"]["Status"] == "Enabled"
    sse = bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]
    assert sse["ServerSideEncryptionByDefault"]["SSEAlgorithm"] == "aws:kms"
    assert all(bucket["PublicAccessBlockConfiguration"].values())
    assert len(bucket["PublicAccessBlockConfiguration"]) == 4
    policy = _resources("storage", "AWS::S3::BucketPolicy")["DocumentBucketPolicy"]["Properties"]
    denies = [s for s in policy["PolicyDocument"]["Statement"] if s["Effect"] == "Deny"]
    assert any(s["Condition"].get("Bool", {}).get("aws:SecureTransport") == "false" for s in denies)


def test_irsa_roles_trust_only_their_service_account():
    roles = _resources("iam", "AWS::IAM::Role")
    assert len(roles) == len(support.SERVICES)
    for service in support.SERVICES:
        role = roles[f"{service.capitalize()}Role"]["Properties"]
        trust = role["AssumeRolePolicyDocument"]["Fn::Sub"][0]
        doc = json.loads(trust)
        (statement,) = doc["Statement"]
        assert statement["Action"] == "sts:AssumeRoleWithWebIdentity"
        cond = statement["Condition"]["StringEquals"]
        assert cond["${Issuer}:aud"] == "sts.amazonaws.com"
        assert cond["${Issuer}:sub"] == f"system:serviceaccount:folio-${{Environment}}:{service}"
    documents = json.dumps(roles["DocumentsRole"]["Properties"]["Policies"])
    assert "s3:PutObject" in documents
    for service in ("bff", "users", "integration"):
        assert "s3:" not in json.dumps(roles[f"{service.capitalize()}Role"]["Properties"]["Policies"])


def test_no_long_lived_credentials():
    for template in TEMPLATES:
        text = template.read_text()
        for forbidden in ("AWS::IAM::AccessKey", "AWS::IAM::User", " MasterUserPassword:"):
            assert forbidden not in text, (template.name, forbidden)
