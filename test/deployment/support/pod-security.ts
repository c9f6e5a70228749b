import type { Container, PodSpec, SecurityContext } from './kube-types';

/** The volume types the `restricted` level allows. */
const RESTRICTED_VOLUME_TYPES = new Set([
  'configMap',
  'csi',
  'downwardAPI',
  'emptyDir',
  'ephemeral',
  'persistentVolumeClaim',
  'projected',
  'secret',
]);

/** The sysctls the `baseline` level allows. */
const SAFE_SYSCTLS = new Set([
  'kernel.shm_rmid_forced',
  'net.ipv4.ip_local_port_range',
  'net.ipv4.ip_unprivileged_port_start',
  'net.ipv4.tcp_syncookies',
  'net.ipv4.ping_group_range',
  'net.ipv4.ip_local_reserved_ports',
  'net.ipv4.tcp_keepalive_time',
  'net.ipv4.tcp_fin_timeout',
  'net.ipv4.tcp_keepalive_intvl',
  'net.ipv4.tcp_keepalive_probes',
]);

const ALLOWED_SELINUX_TYPES = new Set(['', 'container_t', 'container_init_t', 'container_kvm_t', 'container_engine_t']);

/** A container's setting as it takes effect: its own, else the pod's (for the fields that have both). */
function effective<K extends keyof SecurityContext>(pod: PodSpec, container: Container, key: K): SecurityContext[K] {
  return container.securityContext?.[key] ?? pod.securityContext?.[key];
}

/**
 * The ways a pod breaks the Pod Security Standards' `restricted` level (which includes `baseline`), as the
 * admission controller checks them.
 * @returns one message per violation; empty when the pod would be admitted to a `restricted` namespace.
 */
export function restrictedViolations(pod: PodSpec): string[] {
  const violations: string[] = [];
  for (const field of ['hostNetwork', 'hostPID', 'hostIPC'] as const) {
    if (pod[field]) {
      violations.push(`${field} is true`);
    }
  }
  for (const volume of pod.volumes ?? []) {
    const type = Object.keys(volume).find((key) => key !== 'name');
    if (type === undefined || !RESTRICTED_VOLUME_TYPES.has(type)) {
      violations.push(`volume ${volume.name} is of type ${type}`);
    }
  }
  for (const sysctl of pod.securityContext?.sysctls ?? []) {
    if (!SAFE_SYSCTLS.has(sysctl.name)) {
      violations.push(`sysctl ${sysctl.name} is not a safe one`);
    }
  }
  if (pod.securityContext?.runAsUser === 0) {
    violations.push('the pod runs as uid 0');
  }
  const containers = [...pod.containers, ...(pod.initContainers ?? []), ...(pod.ephemeralContainers ?? [])];
  for (const container of containers) {
    const where = `container ${container.name}`;
    const context = container.securityContext ?? {};
    if (context.privileged) {
      violations.push(`${where} is privileged`);
    }
    if (context.allowPrivilegeEscalation !== false) {
      violations.push(`${where} does not set allowPrivilegeEscalation: false`);
    }
    if (effective(pod, container, 'runAsNonRoot') !== true) {
      violations.push(`${where} does not set runAsNonRoot: true (nor does its pod)`);
    }
    if (context.runAsUser === 0) {
      violations.push(`${where} runs as uid 0`);
    }
    const seccomp = effective(pod, container, 'seccompProfile')?.type;
    if (seccomp !== 'RuntimeDefault' && seccomp !== 'Localhost') {
      violations.push(`${where} has seccomp profile ${seccomp ?? 'unset'} (RuntimeDefault or Localhost needed)`);
    }
    if (!(context.capabilities?.drop ?? []).includes('ALL')) {
      violations.push(`${where} does not drop ALL capabilities`);
    }
    const added = (context.capabilities?.add ?? []).filter((capability) => capability !== 'NET_BIND_SERVICE');
    if (added.length > 0) {
      violations.push(`${where} adds ${added.join(', ')}`);
    }
    const appArmor = effective(pod, container, 'appArmorProfile')?.type;
    if (appArmor === 'Unconfined') {
      violations.push(`${where} is AppArmor-unconfined`);
    }
    const seLinux = effective(pod, container, 'seLinuxOptions');
    if (seLinux && (!ALLOWED_SELINUX_TYPES.has(seLinux.type ?? '') || seLinux.user || seLinux.role)) {
      violations.push(`${where} sets SELinux options beyond an allowed type`);
    }
    if (context.procMount !== undefined && context.procMount !== 'Default') {
      violations.push(`${where} sets procMount ${context.procMount}`);
    }
    for (const port of container.ports ?? []) {
      if (port.hostPort) {
        violations.push(`${where} binds host port ${port.hostPort}`);
      }
    }
  }
  return violations;
}
