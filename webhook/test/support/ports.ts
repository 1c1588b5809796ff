// One way to pick test ports: @selfheal/stack's (below the kernel's ephemeral range).
export { freePort } from '@selfheal/stack';
