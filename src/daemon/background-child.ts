/** Set in the re-spawned background child; Node cannot fork, so "daemonize" is spawn + detach. */
export const CHILD_ENV = 'FENCE_VIRTD_BACKGROUND_CHILD';
