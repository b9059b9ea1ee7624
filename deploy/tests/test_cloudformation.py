"""CloudFormation templates: cfn-lint clean, and the settings the design
depends on are present."""

from __future__ import annotations

import json
import re
import shutil
import subprocess

import pytest
import yaml

import support
from support import CLOUDFORMATION

TEMPLATES = sorted(CLOUDFORMATION.glob("*.yaml"))
PER_ENVIRONMENT = {"database", "cache", "mail", "storage", "iam", "alerts"}
# One EKS cluster (one namespace per environment), one VPC, one registry.
ACCOUNT_WIDE = {"network", "eks", "ecr", "github-oidc", "artifacts"}
# The Argo CD the stack installs: the version in the vendored manifest's name.
(ARGOCD_VERSION,) = re.findall(
    r"^argo-cd-(v\d+\.\d+\.\d+)-ha-install\.yaml$",
    "\n".join(p.name for p in (CLOUDFORMATION / "functions" / "kube-apply" / "manifests").iterdir()),
    re.M,
)


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
        "github-oidc": {"ReleaseRoleArn"} | {f"Deploy{e.capitalize()}RoleArn" for e in support.ENVIRONMENTS},
        "network": {"VpcId", "NodeSubnetIds"}
        | {f"{e.capitalize()}DataCidr" for e in support.ENVIRONMENTS}
        | {f"{e.capitalize()}PodSecurityGroupId" for e in support.ENVIRONMENTS},
        "eks": {"ClusterName", "OidcProviderArn", "OidcIssuer"},
        "database": {"DatabaseEndpoint", "MasterUserSecretArn"},
        "cache": {"RedisEndpoint", "RedisAuthTokenSecretArn"},
        "mail": {"SmtpEndpoint", "SmtpCredentialsSecretName", "SmtpCredentialsSecretArn"}
        | {f"DkimRecord{n}" for n in (1, 2, 3)},
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
        # Only the env-* tags move; commit-SHA tags are immutable.
        assert props["ImageTagMutability"] == "IMMUTABLE_WITH_EXCLUSION"
        assert props["ImageTagMutabilityExclusionFilters"] == [
            {"ImageTagMutabilityExclusionFilterType": "WILDCARD", "ImageTagMutabilityExclusionFilterValue": "env-*"}
        ]
        assert props["ImageScanningConfiguration"]["ScanOnPush"] is True
        assert props["EncryptionConfiguration"]["EncryptionType"] == "KMS"
        text = props["LifecyclePolicy"]["LifecyclePolicyText"]["Fn::Sub"]
        policy = json.loads(text.replace("${UntaggedImageDays}", "7").replace("${MaxTaggedImages}", "200"))
        rules = sorted(policy["rules"], key=lambda r: r["rulePriority"])
        # The first rule selects every env-* image and can never expire one:
        # rules of lower priority cannot expire what it selected.
        keep = rules[0]["selection"]
        assert (keep["tagStatus"], keep["tagPatternList"]) == ("tagged", ["env-*"])
        assert keep["countType"] == "imageCountMoreThan" and keep["countNumber"] >= 10000
        assert {r["selection"]["tagStatus"] for r in rules[1:]} == {"untagged", "any"}
    (scanning,) = _resources("ecr", "AWS::ECR::RegistryScanningConfiguration").values()
    assert scanning["Properties"]["ScanType"] == "ENHANCED"


def test_eks_cluster_node_group_and_irsa():
    cluster = _resources("eks", "AWS::EKS::Cluster")["Cluster"]["Properties"]
    assert cluster["EncryptionConfig"][0]["Resources"] == ["secrets"]
    assert cluster["ResourcesVpcConfig"]["EndpointPrivateAccess"] is True
    assert len(cluster["Logging"]["ClusterLogging"]["EnabledTypes"]) == 5
    assert len(_resources("eks", "AWS::EKS::Nodegroup")) == 3
    assert _resources("eks", "AWS::IAM::OIDCProvider")
    cni = _resources("eks", "AWS::EKS::Addon")["VpcCniAddon"]["Properties"]
    cni_config = json.loads(cni["ConfigurationValues"])
    assert cni_config["enableNetworkPolicy"] == "true"
    assert cni_config["env"]["ENABLE_POD_ENI"] == "true", "security groups for pods"
    template = _load("eks")["Resources"]["NodeLaunchTemplate"]["Properties"]["LaunchTemplateData"]
    assert template["MetadataOptions"]["HttpTokens"] == "required"
    assert template["MetadataOptions"]["HttpPutResponseHopLimit"] == 1


def test_rds_mysql():
    (db,) = _resources("database", "AWS::RDS::DBInstance").values()
    props = db["Properties"]
    assert props["Engine"] == "mysql"
    params_ = _load("database")["Parameters"]
    assert params_["EngineMajorVersion"]["Default"] == "8.4"
    assert "8.4" in params_["EngineMajorVersion"]["AllowedValues"]
    assert params_["EngineVersion"]["Default"].startswith("8.4.")
    assert props["StorageEncrypted"] is True
    assert props["MultiAZ"] == {"Fn::If": ["IsProd", True, False]}
    assert props["ManageMasterUserPassword"] is True
    assert "MasterUserPassword" not in props
    assert props["PubliclyAccessible"] is False
    assert db["DeletionPolicy"] == "Snapshot"
    (params,) = _resources("database", "AWS::RDS::DBParameterGroup").values()
    assert params["Properties"]["Parameters"]["require_secure_transport"] == "1"
    assert params["Properties"]["Family"] == {"Fn::Sub": "mysql${EngineMajorVersion}"}


def test_elasticache_redis():
    (group,) = _resources("cache", "AWS::ElastiCache::ReplicationGroup").values()
    props = group["Properties"]
    assert props["TransitEncryptionEnabled"] is True
    assert props["AtRestEncryptionEnabled"] is True
    assert "resolve:secretsmanager" in json.dumps(props["AuthToken"])
    (secret,) = _resources("cache", "AWS::SecretsManager::Secret").values()
    assert secret["Properties"]["GenerateSecretString"]["ExcludePunctuation"] is True


def test_ses_identity_with_dkim_and_the_smtp_secret_the_chart_reads():
    (identity,) = _resources("mail", "AWS::SES::EmailIdentity").values()
    props = identity["Properties"]
    assert props["EmailIdentity"] == {"Ref": "MailDomain"}
    assert props["DkimAttributes"]["SigningEnabled"] is True
    assert props["DkimSigningAttributes"]["NextSigningKeyLength"] == "RSA_2048_BIT"
    (secret,) = _resources("mail", "AWS::SecretsManager::Secret").values()
    assert secret["Properties"]["Name"] == {"Fn::Sub": "folio/${Environment}/notifications/smtp"}
    assert "KmsKeyId" in secret["Properties"]
    generated = secret["Properties"]["GenerateSecretString"]
    assert generated["GenerateStringKey"] == "password"
    assert "username" in json.loads(generated["SecretStringTemplate"])
    # The notifications role may read it (its own secrets), nobody else's role names it.
    roles = _resources("iam", "AWS::IAM::Role")
    reads = json.dumps(roles["NotificationsRole"]["Properties"]["Policies"])
    assert "secret:folio/${Environment}/notifications/*" in reads
    stacks = {s["stack"] for s in json.loads((CLOUDFORMATION / "stacks.json").read_text())["stacks"]}
    for env in support.ENVIRONMENTS:
        assert f"folio-{env}-mail" in stacks
        params = json.loads((CLOUDFORMATION / "parameters" / f"folio-{env}-mail.json").read_text())
        domain = {p["ParameterKey"]: p["ParameterValue"] for p in params}["MailDomain"]
        # The chart sends from that domain, through SES, with that secret.
        smtp = support.load_yaml(support.CHART / f"values-{env}.yaml")["services"]["notifications"]["smtp"]
        assert smtp["credentialsSecret"] == f"folio/{env}/notifications/smtp"
        assert re.fullmatch(r"smtps://email-smtp\.[a-z0-9-]+\.amazonaws\.com:465", smtp["url"]), smtp
        assert smtp["from"].endswith(f"@{domain}"), (smtp, domain)
        (deployment,) = [
            d for d in support.render_environment(env)
            if d["kind"] == "Deployment" and d["metadata"]["name"].endswith("notifications")
        ]
        env_vars = {e["name"]: e.get("value") for c in support.containers(deployment) for e in c.get("env", [])}
        assert env_vars["FOLIO_SMTP_PASSWORD_SECRET"] == f"aws:folio/{env}/notifications/smtp#password"


def test_sign_in_secrets_are_sealed_with_a_key_the_database_stack_keeps():
    """The users service seals organisations' sign-in client secrets with a
    key from Secrets Manager (64 hex digits, kept when the stack goes), and
    the bff sends providers back to the portal's public address."""
    secrets = _resources("database", "AWS::SecretsManager::Secret")
    key = secrets["SignInSecretsKey"]
    assert key["DeletionPolicy"] == "Retain"
    assert key["Properties"]["Name"] == {"Fn::Sub": "folio/${Environment}/users/secrets-key"}
    assert "KmsKeyId" in key["Properties"]
    generated = key["Properties"]["GenerateSecretString"]
    assert generated["PasswordLength"] == 64
    assert generated["ExcludeUppercase"] and generated["ExcludePunctuation"]
    assert set(generated["ExcludeCharacters"]) == set("ghijklmnopqrstuvwxyz")
    roles = _resources("iam", "AWS::IAM::Role")
    assert "secret:folio/${Environment}/users/*" in json.dumps(roles["UsersRole"]["Properties"]["Policies"])
    for env in support.ENVIRONMENTS:
        deployments = {
            d["metadata"]["name"].rsplit("-", 1)[-1]: d
            for d in support.render_environment(env)
            if d["kind"] == "Deployment"
        }

        def env_of(svc):
            return {e["name"]: e.get("value") for c in support.containers(deployments[svc]) for e in c.get("env", [])}

        assert env_of("users")["FOLIO_USERS_SECRETS_KEY_SECRET"] == f"aws:folio/{env}/users/secrets-key"
        bff = env_of("bff")
        host = support.load_yaml(support.CHART / f"values-{env}.yaml")["gateway"]["bffHost"]
        assert bff["FOLIO_PUBLIC_URL"] == f"https://{host}"


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
    assert set(roles) == {f"{s.capitalize()}Role" for s in support.SERVICES} | {"CollectorRole"}
    collector = json.loads(roles["CollectorRole"]["Properties"]["AssumeRolePolicyDocument"]["Fn::Sub"][0])
    assert collector["Statement"][0]["Condition"]["StringEquals"]["${Issuer}:sub"] == (
        "system:serviceaccount:folio-${Environment}:otel-collector"
    )
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


def test_rds_audit_and_slow_logs_are_enabled_and_exported():
    (db,) = _resources("database", "AWS::RDS::DBInstance").values()
    props = db["Properties"]
    assert {"audit", "slowquery", "error"} <= set(props["EnableCloudwatchLogsExports"])
    (params,) = _resources("database", "AWS::RDS::DBParameterGroup").values()
    settings = params["Properties"]["Parameters"]
    assert settings["slow_query_log"] == "1" and settings["log_output"] == "FILE"
    assert float(settings["long_query_time"]) <= 2
    # The audit log needs the audit plugin: exporting "audit" alone exports nothing.
    (options,) = _resources("database", "AWS::RDS::OptionGroup").values()
    assert props["OptionGroupName"] == {"Ref": next(iter(_resources("database", "AWS::RDS::OptionGroup")))}
    (plugin,) = options["Properties"]["OptionConfigurations"]
    assert plugin["OptionName"] == "MARIADB_AUDIT_PLUGIN"
    events = {s["Name"]: s["Value"] for s in plugin["OptionSettings"]}["SERVER_AUDIT_EVENTS"]
    assert {"CONNECT", "QUERY_DDL", "QUERY_DCL"} <= set(events.split(","))


@pytest.mark.parametrize("name", ["database", "cache"])
def test_data_stores_admit_only_their_environments_pods(name):
    """Separated by security groups, not by NetworkPolicy alone: the
    database and cache of an environment admit that environment's pod
    security group, not the cluster's (which every environment shares)."""
    text = json.dumps(_resources(name, "AWS::EC2::SecurityGroup"))
    assert "folio-ClusterSecurityGroupId" not in text
    (group,) = _resources(name, "AWS::EC2::SecurityGroup").values()
    sources = [r["SourceSecurityGroupId"] for r in group["Properties"]["SecurityGroupIngress"]]
    assert sources == [{"Fn::ImportValue": {"Fn::Sub": "folio-${Environment}-PodSecurityGroupId"}}]
    pod_groups = _resources("network", "AWS::EC2::SecurityGroup")
    assert {f"{e.capitalize()}PodSecurityGroup" for e in support.ENVIRONMENTS} <= set(pod_groups)
    for env in support.ENVIRONMENTS:
        tags = {t["Key"]: t["Value"] for t in pod_groups[f"{env.capitalize()}PodSecurityGroup"]["Properties"]["Tags"]}
        # The load balancer controller opens the group to its ALB only when tagged.
        assert tags["kubernetes.io/cluster/folio"] == "owned", env


def test_the_release_role_can_read_enhanced_scan_results():
    release = json.dumps(_resources("github-oidc", "AWS::IAM::Role")["ReleaseRole"]["Properties"]["Policies"])
    assert "ecr:DescribeImageScanFindings" in release and "inspector2:ListFindings" in release


def test_oidc_trust_is_per_environment():
    """One deploy role per GitHub environment, trusting only that
    environment's jobs; mapped to that environment's Kubernetes group."""
    roles = _resources("github-oidc", "AWS::IAM::Role")
    release = roles["ReleaseRole"]["Properties"]["AssumeRolePolicyDocument"]["Statement"][0]["Condition"]
    assert release["StringEquals"]["token.actions.githubusercontent.com:sub"] == {
        "Fn::Sub": "repo:${GitHubRepository}:ref:refs/heads/main"
    }
    deploy = {k: v for k, v in roles.items() if k.startswith("Deploy")}
    assert set(deploy) == {f"Deploy{e.capitalize()}Role" for e in support.ENVIRONMENTS}
    for env in support.ENVIRONMENTS:
        (statement,) = deploy[f"Deploy{env.capitalize()}Role"]["Properties"]["AssumeRolePolicyDocument"]["Statement"]
        condition = statement["Condition"]
        assert set(condition) == {"StringEquals"}, "no wildcard subjects"
        assert condition["StringEquals"]["token.actions.githubusercontent.com:sub"] == {
            "Fn::Sub": f"repo:${{GitHubRepository}}:environment:{env}"
        }
    entries = _resources("eks", "AWS::EKS::AccessEntry")
    for env in support.ENVIRONMENTS:
        entry = entries[f"Deploy{env.capitalize()}Access"]["Properties"]
        assert entry["PrincipalArn"] == {"Ref": f"Deploy{env.capitalize()}RoleArn"}
        assert entry["KubernetesGroups"] == [f"folio-release-{env}"]
        assert "AccessPolicies" not in entry


# End of EKS standard support per minor version (the EKS Kubernetes release
# calendar, docs.aws.amazon.com/eks/latest/userguide/kubernetes-versions.html).
EKS_STANDARD_SUPPORT_ENDS = {
    "1.33": "2026-07-29",
    "1.34": "2026-12-02",
    "1.35": "2027-03-27",
}


def test_eks_version_is_supported_and_the_add_ons_are_pinned():
    import datetime

    version = support.kube_version()
    assert version in EKS_STANDARD_SUPPORT_ENDS, f"EKS {version}: add its end of standard support"
    ends = datetime.date.fromisoformat(EKS_STANDARD_SUPPORT_ENDS[version])
    # Fails once the version leaves standard support (extended support costs extra).
    assert datetime.date.today() < ends, f"EKS {version} left standard support on {ends}"
    template = _load("eks")
    params = template["Parameters"]
    # The add-ons the EKS add-on catalogue has, each at a pinned build.
    addons = {a["Properties"]["AddonName"]: a["Properties"] for a in _resources("eks", "AWS::EKS::Addon").values()}
    assert {"cert-manager", "metrics-server", "eks-pod-identity-agent"} <= set(addons)
    for name in ("cert-manager", "metrics-server", "eks-pod-identity-agent"):
        default = params[addons[name]["AddonVersion"]["Ref"]]["Default"]
        assert re.fullmatch(r"v\d+\.\d+\.\d+-eksbuild\.\d+", default), (name, default)
    assert json.loads(addons["metrics-server"]["ConfigurationValues"])["replicas"] >= 2
    assert json.loads(addons["cert-manager"]["ConfigurationValues"])["replicaCount"] >= 2
    # The Helm-only ones are pinned Argo CD Applications (test_argocd checks the pins).
    apps = {d["metadata"]["name"]: d for d in _platform_apps()}
    assert {"aws-load-balancer-controller", "cluster-autoscaler", "policy-controller", "gateway-api-crds"} <= set(apps)
    for name, app in apps.items():
        # Folio's own manifests follow main; upstream add-ons are pinned.
        assert app["spec"]["source"]["targetRevision"] != "main" or name in {"gateway-class", "image-policy"}, name
    argocd_cli = (support.ROOT / "scripts" / "install-argocd").read_text()
    assert f"version={ARGOCD_VERSION}" in argocd_cli, "the CLI pin follows the Argo CD the stack installs"
    autoscaler = apps["cluster-autoscaler"]["spec"]["source"]["helm"]["valuesObject"]
    assert autoscaler["image"]["tag"].startswith(f"v{version}."), "Cluster Autoscaler follows the Kubernetes minor"


def _platform_apps() -> list[dict]:
    docs = []
    for path in sorted((support.ARGOCD / "platform").glob("*.yaml")):
        docs += [d for d in support.load_yaml_all(path.read_text()) if d["kind"] == "Application"]
    return docs


# The one custom resource type, backed by the tested kube-apply function of
# eks.yaml (deploy/tests/test_kube_apply.py, docs/adr/0077).
CUSTOM_RESOURCES = {("eks", "Custom::KubernetesManifests"): "KubeApplyFunction"}


def test_no_registry_extension_comes_back():
    """Only AWS-provided resource types: the AWSQS Kubernetes extensions
    lost their public support on 2023-03-31 (docs/adr/0072). The exception is
    Custom::KubernetesManifests, backed by this repository's tested kube-apply
    function (docs/adr/0077)."""
    for template in TEMPLATES:
        assert "AWSQS" not in template.read_text(), template.name
        for name, resource in _load(template.stem)["Resources"].items():
            function = CUSTOM_RESOURCES.get((template.stem, resource["Type"]))
            if function:
                assert resource["Properties"]["ServiceToken"] == {"Fn::GetAtt": [function, "Arn"]}, (template.name, name)
                continue
            assert resource["Type"].startswith("AWS::"), (template.name, name, resource["Type"])
            assert not resource["Type"].startswith("AWS::CloudFormation::CustomResource"), (template.name, name)
            ignored = resource.get("Metadata", {}).get("cfn-lint", {}).get("config", {}).get("ignore_checks", [])
            assert "E3006" not in ignored, (template.name, name, "an unknown resource type hidden from cfn-lint")


def _statements(role: dict) -> dict[str, dict]:
    (policy,) = role["Properties"]["Policies"]
    return {st["Sid"]: st for st in policy["PolicyDocument"]["Statement"]}


def _actions(statement: dict) -> set[str]:
    actions = statement["Action"]
    return {actions} if isinstance(actions, str) else set(actions)


def test_argocd_is_installed_by_the_stack_through_the_tested_custom_resource():
    """Self-managed Argo CD (docs/adr/0077): upstream's pinned install, then
    Folio's configuration under a field manager of its own, both through the
    kube-apply function; no managed capability, no Identity Center."""
    template = _load("eks")
    assert not _resources("eks", "AWS::EKS::Capability"), "the managed capability is gone"
    assert not {"IdentityCenterInstanceArn", "IdentityCenterRegion", "ArgoCdAdminGroupId"} & set(template["Parameters"])
    assert not (support.ARGOCD / "bootstrap" / "in-cluster.yaml").exists(), "self-managed Argo CD names its own cluster in-cluster"
    manifests = _resources("eks", "Custom::KubernetesManifests")
    assert set(manifests) == {"ArgoCdInstall", "ArgoCdConfig"}
    install, config = manifests["ArgoCdInstall"], manifests["ArgoCdConfig"]
    for name, resource in manifests.items():
        props = resource["Properties"]
        assert props["ServiceToken"] == {"Fn::GetAtt": ["KubeApplyFunction", "Arn"]}, name
        assert props["ClusterName"] == {"Ref": "Cluster"}, name
        assert props["ManifestBucket"] == {"Fn::ImportValue": "folio-ArtifactBucketName"}, name
        assert props["ManifestKey"] == {"Ref": f"{name}Key"}, name
        assert props["ManifestSha256"] == {"Ref": f"{name}Sha256"}, name
        assert template["Parameters"][f"{name}Sha256"]["AllowedPattern"] == "^[0-9a-f]{64}$", name
        assert props["DefaultNamespace"] == "argocd", name
        assert int(props["ServiceTimeout"]) > int(_resources("eks", "AWS::Lambda::Function")["KubeApplyFunction"]["Properties"]["Timeout"])
    assert install["Properties"]["FieldManager"] != config["Properties"]["FieldManager"]
    assert config["DependsOn"] == "ArgoCdInstall", "Folio's configuration goes over upstream's, after it"
    depends = set(install["DependsOn"])
    assert {"KubeApplyAccess", "KubeApplyToClusterApi"} <= depends, "the function can reach and may apply"


def test_the_kube_apply_function_has_only_the_rights_it_uses():
    resources = _load("eks")["Resources"]
    function = resources["KubeApplyFunction"]["Properties"]
    assert function["Runtime"] == "python3.13" and function["Handler"] == "index.handler"
    assert function["Code"] == {"S3Bucket": {"Fn::ImportValue": "folio-ArtifactBucketName"}, "S3Key": {"Ref": "KubeApplyCodeKey"}}
    assert function["ReservedConcurrentExecutions"] >= 1
    # The handler keeps 20 s (RESPONSE_MARGIN_S) of the timeout to answer.
    assert 120 <= function["Timeout"] <= 900
    assert function["VpcConfig"]["SubnetIds"] == {"Fn::Split": [",", {"Fn::ImportValue": "folio-NodeSubnetIds"}]}
    assert function["VpcConfig"]["SecurityGroupIds"] == [{"Ref": "KubeApplySecurityGroup"}]
    assert function["LoggingConfig"]["LogGroup"] == {"Ref": "KubeApplyLogGroup"}
    log_group = resources["KubeApplyLogGroup"]["Properties"]
    assert log_group["RetentionInDays"] and log_group["KmsKeyId"]
    assert "Environment" not in function, "no settings, nothing to leak"

    assert function["Role"] == {"Fn::GetAtt": ["KubeApplyRole", "Arn"]}
    role = resources["KubeApplyRole"]
    (trust,) = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"Service": "lambda.amazonaws.com"}
    assert "ManagedPolicyArns" not in role["Properties"]
    statements = _statements(role)
    granted = set().union(*(_actions(st) for st in statements.values()))
    assert granted == {
        "eks:DescribeCluster", "s3:GetObject", "kms:Decrypt", "logs:CreateLogStream", "logs:PutLogEvents",
        "ec2:DescribeNetworkInterfaces", "ec2:DescribeSubnets", "ec2:DescribeSecurityGroups", "ec2:DescribeVpcs",
        "ec2:CreateNetworkInterface", "ec2:DeleteNetworkInterface", "ec2:AssignPrivateIpAddresses",
        "ec2:UnassignPrivateIpAddresses",
    }, granted
    assert all(st["Effect"] == "Allow" and "*" not in json.dumps(sorted(_actions(st))) for st in statements.values())
    by_action = {a: st for st in statements.values() for a in _actions(st)}
    assert by_action["eks:DescribeCluster"]["Resource"] == {"Fn::GetAtt": ["Cluster", "Arn"]}
    objects = json.dumps(by_action["s3:GetObject"]["Resource"])
    assert "${ArgoCdInstallKey}" in objects and "${ArgoCdConfigKey}" in objects and "/*" not in objects
    assert by_action["kms:Decrypt"]["Condition"]["StringEquals"]["kms:ViaService"] == {"Fn::Sub": "s3.${AWS::Region}.amazonaws.com"}
    assert "log-group:/aws/lambda/folio-kube-apply:" in json.dumps(by_action["logs:PutLogEvents"]["Resource"])
    assert "ec2:Vpc" in by_action["ec2:CreateNetworkInterface"]["Condition"]["ArnEquals"]

    # Into the cluster security group on 443, from the function's group only.
    ingress = resources["KubeApplyToClusterApi"]["Properties"]
    assert ingress["GroupId"] == {"Fn::GetAtt": ["Cluster", "ClusterSecurityGroupId"]}
    assert ingress["SourceSecurityGroupId"] == {"Ref": "KubeApplySecurityGroup"}
    assert (ingress["IpProtocol"], ingress["FromPort"], ingress["ToPort"]) == ("tcp", 443, 443)
    egress = resources["KubeApplySecurityGroup"]["Properties"]["SecurityGroupEgress"]
    assert {(e["IpProtocol"], e["FromPort"], e["ToPort"]) for e in egress} == {("tcp", 443, 443)}

    # Cluster admin, the only access policy that can apply Argo CD's
    # ClusterRoles (its controller may do anything), for this role only.
    entry = resources["KubeApplyAccess"]["Properties"]
    assert entry["PrincipalArn"] == {"Fn::GetAtt": ["KubeApplyRole", "Arn"]}
    (policy,) = entry["AccessPolicies"]
    assert policy["PolicyArn"]["Fn::Sub"].endswith("cluster-access-policy/AmazonEKSClusterAdminPolicy")
    assert "KubernetesGroups" not in entry


def test_the_artifact_bucket_and_who_may_write_it():
    (bucket,) = _resources("artifacts", "AWS::S3::Bucket").values()
    props = bucket["Properties"]
    assert props["VersioningConfiguration"]["Status"] == "Enabled"
    assert props["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]["ServerSideEncryptionByDefault"]["SSEAlgorithm"] == "aws:kms"
    assert all(props["PublicAccessBlockConfiguration"].values()) and len(props["PublicAccessBlockConfiguration"]) == 4
    assert bucket["DeletionPolicy"] == "Retain"
    for rule in props["LifecycleConfiguration"]["Rules"]:
        assert "ExpirationInDays" not in rule, "current artifacts stay: a rollback applies the previous keys"
    (policy,) = _resources("artifacts", "AWS::S3::BucketPolicy").values()
    deny = {st["Sid"]: st for st in policy["Properties"]["PolicyDocument"]["Statement"]}["DenyInsecureTransport"]
    assert deny["Effect"] == "Deny" and deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    name = props["BucketName"]["Fn::Sub"]
    roles = _resources("github-oidc", "AWS::IAM::Role")
    writers = set()
    for role_name, role in roles.items():
        for policy in role["Properties"].get("Policies", []):
            for st in policy["PolicyDocument"]["Statement"]:
                if "s3:PutObject" in _actions(st):
                    resources_ = st["Resource"] if isinstance(st["Resource"], list) else [st["Resource"]]
                    assert all(r["Fn::Sub"].startswith(f"arn:${{AWS::Partition}}:s3:::{name}/") for r in resources_)
                    writers.add(role_name)
    assert writers == {"InfrastructureApplyRole"}, "only the approved apply job uploads"
    # folio-eks reads it through the export, and the stack list has it first.
    stacks = [s["stack"] for s in json.loads((CLOUDFORMATION / "stacks.json").read_text())["stacks"]]
    assert stacks.index("folio-artifacts") < stacks.index("folio-eks")


def test_helm_only_add_ons_get_their_roles_through_pod_identity():
    """The Applications name the service accounts the stack associates with
    the controllers' roles; each role trusts only EKS Pod Identity of this
    cluster."""
    associations = {
        a["Properties"]["ServiceAccount"]: a["Properties"] for a in _resources("eks", "AWS::EKS::PodIdentityAssociation").values()
    }
    apps = {d["metadata"]["name"]: d for d in _platform_apps()}
    roles = _resources("eks", "AWS::IAM::Role")
    accounts = {
        "aws-load-balancer-controller": apps["aws-load-balancer-controller"]["spec"]["source"]["helm"]["valuesObject"]["serviceAccount"]["name"],
        "cluster-autoscaler": apps["cluster-autoscaler"]["spec"]["source"]["helm"]["valuesObject"]["rbac"]["serviceAccount"]["name"],
    }
    for app, account in accounts.items():
        association = associations[account]
        assert association["Namespace"] == apps[app]["spec"]["destination"]["namespace"] == "kube-system"
        role = roles[association["RoleArn"]["Fn::GetAtt"][0]]["Properties"]
        (statement,) = role["AssumeRolePolicyDocument"]["Statement"]
        assert statement["Principal"] == {"Service": "pods.eks.amazonaws.com"}
        assert statement["Condition"]["StringEquals"]["aws:RequestTag/eks-cluster-name"] == "folio"
    addons = {a["Properties"]["AddonName"] for a in _resources("eks", "AWS::EKS::Addon").values()}
    assert "eks-pod-identity-agent" in addons, "associations need the agent"


def test_gateway_api_is_installed_with_the_load_balancer_controller():
    """The pinned Gateway API CRDs (the release deploy/schemas/crds holds),
    the GatewayClass the chart names, and the controller with only its ALB
    Gateway controller and no IngressClass (docs/adr/0069), all as Argo CD
    Applications of the platform project (docs/adr/0072)."""
    apps = {d["metadata"]["name"]: d for d in _platform_apps()}
    crds = apps["gateway-api-crds"]["spec"]
    version = crds["source"]["targetRevision"]
    pinned = support.load_yaml(support.SCHEMAS / "crds" / "gateway.networking.k8s.io_gateways.yaml")
    assert pinned["metadata"]["annotations"]["gateway.networking.k8s.io/bundle-version"] == version
    assert pinned["metadata"]["annotations"]["gateway.networking.k8s.io/channel"] == "standard"
    assert crds["source"]["path"] == "config/crd/standard"
    assert "ServerSideApply=true" in crds["syncPolicy"]["syncOptions"]
    class_source = apps["gateway-class"]["spec"]["source"]
    (gateway_class,) = support.load_yaml_all((support.ROOT / class_source["path"] / "gateway-class.yaml").read_text())
    chart = support.load_yaml(support.CHART / "values.yaml")["gateway"]
    assert gateway_class["kind"] == "GatewayClass"
    assert gateway_class["metadata"]["name"] == chart["className"]
    assert gateway_class["spec"]["controllerName"] == "gateway.k8s.aws/alb"
    support.validate_manifest(gateway_class, support.kube_version())
    controller = apps["aws-load-balancer-controller"]["spec"]["source"]
    assert controller["targetRevision"] == "3.5.0", "the controller version whose CRDs deploy/schemas/crds pins"
    values = controller["helm"]["valuesObject"]
    assert values["clusterName"] == _resources("eks", "AWS::EKS::Cluster")["Cluster"]["Properties"]["Name"]
    assert values["controllerConfig"]["featureGates"] == {"ALBGatewayAPI": True, "NLBGatewayAPI": False}
    assert values["createIngressClassResource"] is False
    assert values["region"] == support.load_yaml(support.CHART / "values.yaml")["awsRegion"]
    lbc_crd = support.load_yaml(support.SCHEMAS / "crds" / "gateway.k8s.aws_targetgroupconfigurations.yaml")
    assert [v["name"] for v in lbc_crd["spec"]["versions"] if v["storage"]] == ["v1"]


def _cpu(value: str) -> float:
    return float(value[:-1]) / 1000 if value.endswith("m") else float(value)


def test_node_autoscaling_fits_every_hpa_at_its_maximum():
    """The node group can grow to hold every service of every environment at
    its HPA maximum (CPU requests), plus room for the add-ons."""
    from support import application, application_values, deep_merge, load_yaml

    defaults = load_yaml(support.CHART / "values.yaml")
    needed = 0.0
    for env in support.ENVIRONMENTS:
        values = deep_merge(defaults, application_values(application(env)))
        for svc in support.SERVICES:
            v = values["services"][svc]
            needed += v["autoscaling"]["maxReplicas"] * _cpu(v["resources"]["requests"]["cpu"])
        if values["collector"]["enabled"]:
            needed += values["collector"]["replicas"] * _cpu(values["collector"]["resources"]["requests"]["cpu"])
    add_ons = 3.0  # Argo CD, cert-manager, load balancer controller, metrics-server, autoscaler, CoreDNS
    params = _load("eks")["Parameters"]
    # m6i.large: 2 vCPU, about 1.9 allocatable.
    assert params["NodeInstanceType"]["Default"] == "m6i.large"
    groups = _resources("eks", "AWS::EKS::Nodegroup")
    assert len(groups) == 3, "one node group per zone"
    subnets = [g["Properties"]["Subnets"] for g in groups.values()]
    assert all(len(s) == 1 for s in subnets) and len({json.dumps(s) for s in subnets}) == 3
    capacity = len(groups) * int(params["NodeMaxSizePerZone"]["Default"]) * 1.9
    assert capacity >= needed + add_ons, (capacity, needed + add_ons)
    # Cluster Autoscaler (an Application of argocd/platform) is what grows them.
    (autoscaler,) = [a for a in _platform_apps() if a["metadata"]["name"] == "cluster-autoscaler"]
    values = autoscaler["spec"]["source"]["helm"]["valuesObject"]
    cluster = _resources("eks", "AWS::EKS::Cluster")["Cluster"]["Properties"]["Name"]
    assert values["autoDiscovery"]["clusterName"] == cluster
    assert values["extraArgs"]["balance-similar-node-groups"] is True
    assert all(g["Properties"]["ScalingConfig"]["MaxSize"] == {"Ref": "NodeMaxSizePerZone"} for g in groups.values())


def test_rds_elasticache_and_pod_restart_alarms():
    alarms = _resources("alerts", "AWS::CloudWatch::Alarm")
    by_metric = {}
    for name, alarm in alarms.items():
        props = alarm["Properties"]
        assert props["AlarmActions"] == [{"Ref": "AlertsTopic"}], name
        key = props.get("Namespace") or "metrics-insights"
        by_metric.setdefault(key, set()).add(props.get("MetricName") or json.dumps(props["Metrics"]))
    assert {"CPUUtilization", "FreeStorageSpace", "DatabaseConnections"} <= by_metric["AWS/RDS"]
    assert {"EngineCPUUtilization", "DatabaseMemoryUsagePercentage"} <= by_metric["AWS/ElastiCache"]
    (restarts,) = by_metric["metrics-insights"]
    assert "pod_number_of_container_restarts" in restarts and "folio-${Environment}" in restarts
    # The names the alarms watch are the ones the stacks create.
    db = _resources("database", "AWS::RDS::DBInstance")["Database"]["Properties"]
    cache = _resources("cache", "AWS::ElastiCache::ReplicationGroup")
    (group,) = cache.values()
    for alarm in alarms.values():
        for dim in alarm["Properties"].get("Dimensions", []):
            expected = {"DBInstanceIdentifier": db["DBInstanceIdentifier"],
                        "ReplicationGroupId": group["Properties"]["ReplicationGroupId"]}[dim["Name"]]
            assert dim["Value"] == expected
    addons = {a["Properties"]["AddonName"] for a in _resources("eks", "AWS::EKS::Addon").values()}
    assert "amazon-cloudwatch-observability" in addons, "Container Insights feeds the restart alarm"


def test_every_jobs_aws_credentials_outlast_the_job():
    """A job's kubeconfig tokens and AWS calls use the credentials it assumed
    at its start: they must last as long as the job may run, and the deploy
    roles must allow that long a session."""
    deploy_session = 0
    for path in sorted(support.WORKFLOWS.glob("*.yml")):
        for job_name, job in support.load_yaml(path)["jobs"].items():
            for step in job.get("steps", []):
                if not step.get("uses", "").startswith("aws-actions/configure-aws-credentials@"):
                    continue
                duration = int(step["with"].get("role-duration-seconds", 3600))
                assert "timeout-minutes" in job, (path.name, job_name, "unbounded job")
                assert duration >= job["timeout-minutes"] * 60, (path.name, job_name, duration)
                if "AWS_DEPLOY_ROLE_ARN" in step["with"]["role-to-assume"]:
                    deploy_session = max(deploy_session, duration)
    roles = _resources("github-oidc", "AWS::IAM::Role")
    assert deploy_session > 3600, "the promote job runs longer than the default hour"
    for env in support.ENVIRONMENTS:
        role = roles[f"Deploy{env.capitalize()}Role"]["Properties"]
        assert role["MaxSessionDuration"] >= deploy_session, env
