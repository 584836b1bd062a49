/** A worker setup module that fails: every worker start fails. */
throw new Error('setup refused');
