/** Paths of the helm and kubectl binaries (scripts/k8s-tools.mjs), unpacked on first use. */
export function k8sTools(): { helm: string; kubectl: string };
