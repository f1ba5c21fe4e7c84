//! A pipeline's artifact store in one region: a versioned bucket encrypted with a customer-managed key
//! that an alias names. A pipeline with actions in other regions needs one store in each, created
//! before the pipeline; the pipeline's stack names the others by bucket name and key alias.

use crate::cfn::kms;
use crate::construct::{ConstructError, Scope};
use crate::constructs::data::{AccessLogs, Bucket, BucketProps};
use crate::constructs::iam::Statement;
use crate::constructs::ids::Name;
use crate::constructs::kms::{EncryptionKey, KeyProps};
use crate::template::Value;

/// How to build an [`ArtifactStore`].
#[derive(Debug, Clone)]
pub struct ArtifactStoreProps {
    /// The bucket name: deterministic, so that a pipeline in another region can name it.
    pub bucket_name: Value<String>,
    /// The key's alias, without `alias/`: deterministic for the same reason.
    pub key_alias: String,
    /// Where the bucket's access logs go.
    pub access_logs: Option<AccessLogs>,
}

/// What encrypts a store: a key of the same stack, or a key of another region known by its alias.
#[derive(Debug, Clone)]
enum StoreKey {
    Own(EncryptionKey),
    Aliased,
}

/// An artifact store of a pipeline: the bucket, the key, and the region they are in.
#[derive(Debug, Clone)]
pub struct ArtifactStore {
    region: String,
    bucket: Bucket,
    key_alias: String,
    key: StoreKey,
}

impl ArtifactStore {
    /// Adds a store under `id` in the scope's stack and region: a key with the alias, and the bucket.
    pub fn new(scope: &mut Scope, id: &str, props: ArtifactStoreProps) -> Result<Self, ConstructError> {
        let mut scope = scope.child(id)?;
        let key_props = KeyProps {
            description: Some(format!("Encrypts the pipeline artifacts of {}", scope.path())),
            grants: Vec::new(),
        };
        let key = EncryptionKey::new(&mut scope, "Key", key_props)?;
        let alias = kms::Alias::new(format!("alias/{}", props.key_alias), key.arn());
        scope.add("Alias", alias)?;
        let bucket_props = BucketProps {
            name: Some(props.bucket_name),
            // Artifacts are working copies: a month of old versions is plenty to debug a release.
            noncurrent_version_days: 30,
            access_logs: props.access_logs,
            ..BucketProps::default()
        };
        let bucket = Bucket::new(&mut scope, "Bucket", &key, bucket_props)?;
        let region = scope.region().to_owned();
        Ok(Self { region, bucket, key_alias: props.key_alias, key: StoreKey::Own(key) })
    }

    /// The store another stack created in `region`, by its bucket name and key alias (without `alias/`).
    pub fn from_names(region: &str, bucket_name: Name<crate::cfn::s3::Bucket>, key_alias: &str) -> Self {
        Self {
            region: region.to_owned(),
            bucket: Bucket::from_name(bucket_name, None),
            key_alias: key_alias.to_owned(),
            key: StoreKey::Aliased,
        }
    }

    /// The region the store is in.
    pub fn region(&self) -> &str {
        &self.region
    }

    /// The key, when it is this stack's.
    pub fn key(&self) -> Option<&EncryptionKey> {
        match &self.key {
            StoreKey::Own(key) => Some(key),
            StoreKey::Aliased => None,
        }
    }

    /// The bucket.
    pub fn bucket(&self) -> &Bucket {
        &self.bucket
    }

    /// How a pipeline names the key: its ARN, or the alias's ARN for a key of another stack.
    pub fn key_id(&self) -> Value<String> {
        match &self.key {
            StoreKey::Own(key) => key.arn().value(),
            StoreKey::Aliased => Value::sub_with(
                "arn:${AWS::Partition}:kms:${Region}:${AWS::AccountId}:alias/${Alias}",
                [("Region", Value::from(self.region.as_str())), ("Alias", Value::from(self.key_alias.as_str()))],
            ),
        }
    }

    /// Reading and writing artifacts: the bucket's objects, and the key, named by ARN when it is this
    /// stack's, or by its alias otherwise (IAM matches a key's ARN, never an alias's).
    pub fn read_write_statements(&self) -> Vec<Statement> {
        let bucket = self.bucket.arn().value();
        let mut statements = vec![
            Statement::allow(["s3:GetBucketVersioning", "s3:GetBucketLocation"]).resource(bucket.clone()),
            Statement::allow(["s3:GetObject", "s3:GetObjectVersion", "s3:PutObject"])
                .resource(Value::sub_with("${Bucket}/*", [("Bucket", bucket)])),
        ];
        let actions = ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey", "kms:ReEncrypt*", "kms:DescribeKey"];
        statements.push(match &self.key {
            StoreKey::Own(key) => Statement::allow(actions).resource(key.arn()),
            StoreKey::Aliased => Statement::allow(actions)
                .resource(Value::sub_with(
                    "arn:${AWS::Partition}:kms:${Region}:${AWS::AccountId}:key/*",
                    [("Region", Value::from(self.region.as_str()))],
                ))
                .condition("ForAnyValue:StringEquals", "kms:ResourceAliases", [format!("alias/{}", self.key_alias)]),
        });
        statements
    }
}
