// Following the connection of an output's model to its kernel (widget.ts).

import type { Kernel } from '@jupyterlab/services';

export interface IKernelWatcher {
  /** The kernel died or its connection was disposed. */
  gone(): void;
  /** The connection is being retried (true), or is up again or given up (false). */
  reconnecting(retrying: boolean, connected: boolean): void;
}

/** Call watcher on kernel's changes; the function returned stops that. */
export function watchKernel(kernel: Kernel.IKernelConnection, watcher: IKernelWatcher): () => void {
  const onStatus = () => {
    if (kernel.isDisposed || kernel.status === 'dead') {
      watcher.gone();
    }
  };
  const onConnection = (_: unknown, status: Kernel.ConnectionStatus) =>
    watcher.reconnecting(status === 'connecting', status === 'connected');
  kernel.statusChanged.connect(onStatus);
  kernel.disposed.connect(onStatus);
  kernel.connectionStatusChanged.connect(onConnection);
  return () => {
    kernel.statusChanged.disconnect(onStatus);
    kernel.disposed.disconnect(onStatus);
    kernel.connectionStatusChanged.disconnect(onConnection);
  };
}
