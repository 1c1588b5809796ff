// `prometheus.auth`: exactly one kind, each key checked with a message that names it.
import { describe, expect, it } from 'vitest';
import { DEFAULT_AZURE_PROMETHEUS_SCOPE, prometheusAuthSchema } from '../src/prometheus/auth/index.js';

function problems(input: unknown): string[] {
  const parsed = prometheusAuthSchema.safeParse(input);
  return parsed.success ? [] : parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
}

describe('prometheus.auth schema', () => {
  it('sigv4 with a region: service defaults to aps; roleArn kept', () => {
    expect(prometheusAuthSchema.parse({ sigv4: { region: 'us-east-1' } })).toEqual({ sigv4: { region: 'us-east-1', service: 'aps' } });
    const arn = 'arn:aws:iam::123456789012:role/selfheal-amp-query';
    expect(prometheusAuthSchema.parse({ sigv4: { region: 'eu-central-1', roleArn: arn } }).sigv4?.roleArn).toBe(arn);
    expect(prometheusAuthSchema.parse({ sigv4: { region: 'us-gov-west-1' } }).sigv4?.region).toBe('us-gov-west-1');
  });

  it('azure: every key optional, scope defaults to Azure Monitor managed Prometheus', () => {
    expect(prometheusAuthSchema.parse({ azure: {} })).toEqual({ azure: { scope: DEFAULT_AZURE_PROMETHEUS_SCOPE } });
    expect(DEFAULT_AZURE_PROMETHEUS_SCOPE).toBe('https://prometheus.monitor.azure.com/.default');
    const azure = { clientId: '11111111-2222-3333-4444-555555555555', tenantId: 'contoso.onmicrosoft.com', scope: 'https://prometheus.monitor.azure.us/.default' };
    expect(prometheusAuthSchema.parse({ azure }).azure).toEqual(azure);
  });

  it.each([
    ['no region', { sigv4: {} }, /^sigv4\.region: required: the AWS region of the workspace, e.g. us-east-1/],
    ['a region not shaped like one', { sigv4: { region: 'US East' } }, /^sigv4\.region: is not an AWS region/],
    ['an endpoint instead of a region', { sigv4: { region: 'aps-workspaces.us-east-1.amazonaws.com' } }, /^sigv4\.region: is not an AWS region/],
    ['a roleArn that is not a role', { sigv4: { region: 'us-east-1', roleArn: 'arn:aws:iam::123:user/bob' } }, /^sigv4\.roleArn: is not an IAM role ARN/],
    ['an unknown sigv4 key', { sigv4: { region: 'us-east-1', profile: 'x' } }, /^sigv4: Unrecognized key: "profile"/],
    ['a clientId that is not a GUID', { azure: { clientId: 'my-app' } }, /^azure\.clientId: is not a client ID: expected a GUID/],
    ['a scope without /.default', { azure: { scope: 'https://prometheus.monitor.azure.com' } }, /^azure\.scope: must be an https:\/\/ resource followed by \/\.default/],
    ['two kinds at once', { sigv4: { region: 'us-east-1' }, azure: {} }, /^\(root\): set one kind of authentication, not sigv4 and azure/],
    ['bearer and basic at once', { bearerTokenFile: '/t', basic: { username: 'a', passwordFile: '/p' } }, /^\(root\): set one kind of authentication, not bearerTokenFile and basic/],
    ['nothing', {}, /^\(root\): empty: set one of bearerTokenFile, basic, sigv4, azure/],
  ])('%s: a message naming the key', (_what, input, expected) => {
    const found = problems(input);
    expect(found.length).toBeGreaterThan(0);
    expect(found.some((p) => expected.test(p)), found.join('\n')).toBe(true);
  });
});
