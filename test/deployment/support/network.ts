import type { Container, NetworkPolicy, NetworkPolicyPeer, Workload } from './kube-types';
import { OLLAMA_IMAGE, Topology, selects } from './topology';

/** The NetworkPolicies whose podSelector selects a workload's pods. */
export function policiesSelecting(topology: Topology, workload: Workload): NetworkPolicy[] {
  return topology.objects
    .filter((object): object is NetworkPolicy => object.kind === 'NetworkPolicy')
    .filter((policy) => selects(policy.spec.podSelector, workload.spec.template.metadata.labels));
}

/** Workloads running an Ollama container in pods of their own, which other pods reach over the network. */
export function ollamaWorkloads(topology: Topology): { workload: Workload; container: Container }[] {
  return topology.workloads.flatMap((workload) =>
    workload.spec.template.spec.containers
      .filter((container) => OLLAMA_IMAGE.test(container.image))
      .map((container) => ({ workload, container })),
  );
}

/**
 * What one NetworkPolicy admits: for each ingress rule, the workloads its peers select in this namespace
 * (`all` for a peer that is not a plain podSelector: a namespaceSelector, an ipBlock, or no `from`) and its
 * ports as `protocol/port`.
 */
export function admitted(topology: Topology, policy: NetworkPolicy): { from: (Workload | 'all')[]; ports: string[] }[] {
  const peerWorkloads = (peer: NetworkPolicyPeer): (Workload | 'all')[] =>
    Object.keys(peer).length === 1 && peer.podSelector
      ? topology.workloads.filter((workload) => selects(peer.podSelector ?? {}, workload.spec.template.metadata.labels))
      : ['all'];
  return (policy.spec.ingress ?? []).map((rule) => ({
    from: rule.from === undefined || rule.from.length === 0 ? ['all'] : rule.from.flatMap(peerWorkloads),
    ports: (rule.ports ?? [{}]).map((port) => `${port.protocol ?? 'TCP'}/${port.port ?? 'any'}`),
  }));
}
