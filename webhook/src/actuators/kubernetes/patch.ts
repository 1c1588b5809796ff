// The Content-Type of each kind of PATCH the actuator sends (the client's default is a JSON patch): one place, so
// the fix and its revert always patch a resource the same way.
import { PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';

/** RFC 7386 merge patch: scale subresources, HPA minReplicas, pod labels, ConfigMap data, custom resources. */
export const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
/** Strategic merge patch: a workload's pod template (restart annotation, rollback). */
export const strategicMergePatch = setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch);
/** JSON patch (RFC 6902). */
export const jsonPatch = setHeaderOptions('Content-Type', PatchStrategy.JsonPatch);
