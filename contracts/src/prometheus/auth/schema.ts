// `prometheus.auth` of the exporter and the healing service (same shape in both): a bearer token file, basic
// auth, AWS Signature V4 (Amazon Managed Service for Prometheus) or a Microsoft Entra token (Azure Monitor
// managed Prometheus). Exactly one kind at a time; each message names the key and says what to write.
import { z } from 'zod';

/** AWS region names: us-east-1, eu-central-1, ap-southeast-2, us-gov-west-1, cn-north-1, il-central-1, ... */
export const AWS_REGION_RE = /^[a-z]{2}(-[a-z]+)+-\d{1,2}$/;
/** An IAM role ARN (any partition: aws, aws-cn, aws-us-gov). */
export const IAM_ROLE_ARN_RE = /^arn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@/-]{1,512}$/;
const GUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** Tenant: its GUID or a verified domain (contoso.onmicrosoft.com). */
const TENANT_RE = /^([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|[a-z0-9][a-z0-9.-]*\.[a-z]{2,})$/i;

/** The service name of Amazon Managed Service for Prometheus in SigV4 credential scopes. */
export const DEFAULT_SIGV4_SERVICE = 'aps';
/** The Entra scope of Azure Monitor managed Prometheus (its query endpoint's audience). */
export const DEFAULT_AZURE_PROMETHEUS_SCOPE = 'https://prometheus.monitor.azure.com/.default';

const text = (what: string) => z.string({ error: `expected a string (${what})` }).trim().min(1, { error: `must not be empty (${what})` });

export const sigv4AuthSchema = z.strictObject({
  region: z
    .string({ error: 'required: the AWS region of the workspace, e.g. us-east-1' })
    .trim()
    .regex(AWS_REGION_RE, { error: 'is not an AWS region; write the workspace\'s region, e.g. us-east-1 or eu-west-2' }),
  roleArn: z
    .string({ error: 'expected a string (IAM role ARN)' })
    .trim()
    .regex(IAM_ROLE_ARN_RE, { error: 'is not an IAM role ARN; write e.g. arn:aws:iam::123456789012:role/selfheal-amp-query' })
    .optional(),
  service: z
    .string({ error: 'expected a string (the SigV4 service name)' })
    .trim()
    .regex(/^[a-z0-9-]+$/, { error: 'is not a SigV4 service name (lower-case letters, digits, -); Amazon Managed Service for Prometheus is aps' })
    .default(DEFAULT_SIGV4_SERVICE),
});

export const azureAuthSchema = z.strictObject({
  clientId: z.string({ error: 'expected a string (client ID of the managed or workload identity)' }).trim().regex(GUID_RE, { error: 'is not a client ID: expected a GUID such as 00000000-0000-0000-0000-000000000000' }).optional(),
  tenantId: z.string({ error: 'expected a string (Entra tenant ID)' }).trim().regex(TENANT_RE, { error: 'is not a tenant: expected its GUID or a domain such as contoso.onmicrosoft.com' }).optional(),
  scope: z
    .string({ error: 'expected a string (the token scope)' })
    .trim()
    .refine((s) => /^https:\/\/[^\s/]+(\/[^\s]*)?\/\.default$/.test(s), { error: `must be an https:// resource followed by /.default, e.g. ${DEFAULT_AZURE_PROMETHEUS_SCOPE}` })
    .default(DEFAULT_AZURE_PROMETHEUS_SCOPE),
});

const KINDS = ['bearerTokenFile', 'basic', 'sigv4', 'azure'] as const;

export const prometheusAuthSchema = z
  .strictObject({
    bearerTokenFile: text('path of a file holding the bearer token').optional(),
    basic: z
      .strictObject({
        username: text('basic auth user name'),
        passwordFile: text('path of a file holding the password'),
      })
      .optional(),
    /** Amazon Managed Service for Prometheus: requests signed with AWS Signature V4. */
    sigv4: sigv4AuthSchema.optional(),
    /** Azure Monitor managed Prometheus: a Microsoft Entra token from the workload or managed identity. */
    azure: azureAuthSchema.optional(),
  })
  .superRefine((auth, ctx) => {
    const set = KINDS.filter((kind) => auth[kind] !== undefined);
    if (set.length > 1) ctx.addIssue({ code: 'custom', message: `set one kind of authentication, not ${set.join(' and ')}: one of ${KINDS.join(', ')}` });
    if (set.length === 0) ctx.addIssue({ code: 'custom', message: `empty: set one of ${KINDS.join(', ')} (or remove auth)` });
  });

export type PrometheusAuth = z.infer<typeof prometheusAuthSchema>;
export type SigV4Auth = z.infer<typeof sigv4AuthSchema>;
export type AzureAuth = z.infer<typeof azureAuthSchema>;
/** The file form (before defaults), e.g. for tests and generated configs. */
export type PrometheusAuthInput = z.input<typeof prometheusAuthSchema>;
