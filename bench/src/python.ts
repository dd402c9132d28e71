import { execFileSync } from 'node:child_process';

/**
 * The Python that can import `module`: Debian's /usr/bin/python3 first (python3-gensim, python3-torch install
 * there), then whatever `python3` is first on PATH (a pyenv or venv one may shadow Debian's).
 */
export function pythonWith(module: string, install: string): string {
  for (const p of ['/usr/bin/python3', 'python3']) {
    try {
      execFileSync(p, ['-c', `import ${module}`], { stdio: 'ignore' });
      return p;
    } catch {}
  }
  throw new Error(`${module} is not installed for python3: ${install}`);
}
