output "bucket_name" {
  description = "Name of the landing bucket."
  value       = aws_s3_bucket.landing.bucket
}

output "bucket_arn" {
  description = "ARN of the landing bucket."
  value       = aws_s3_bucket.landing.arn
}

output "kms_key_arn" {
  description = "ARN of the KMS key encrypting the bucket."
  value       = aws_kms_key.landing.arn
}

output "reader_role_arn" {
  description = "ARN of the read-only role the Airflow execution role assumes."
  value       = aws_iam_role.reader.arn
}

output "reader_role_name" {
  description = "Name of the read-only reader role."
  value       = aws_iam_role.reader.name
}
