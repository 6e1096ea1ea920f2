import { ArtifactStore } from '../../core/ports';

/** An in-memory ArtifactStore for unit tests of domain code (integration tests use the S3 adapter). */
export class MemoryArtifactStore extends ArtifactStore {
  readonly objects = new Map<string, Uint8Array>();
  uri(key: string): string {
    return `mem://${key}`;
  }
  async putBytes(key: string, body: Uint8Array): Promise<void> {
    this.objects.set(key, body);
  }
  async getBytes(key: string): Promise<Uint8Array | undefined> {
    return this.objects.get(key);
  }
  async exists(key: string): Promise<boolean> {
    return this.objects.has(key);
  }
  async list(prefix: string): Promise<string[]> {
    return [...this.objects.keys()].filter((k) => k.startsWith(prefix)).sort();
  }
}
