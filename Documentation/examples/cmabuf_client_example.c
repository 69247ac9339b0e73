// SPDX-License-Identifier: GPL-2.0
/*
 * The admin guide's client example (Documentation/admin-guide.rst): a camera service
 * allocates a frame on behalf of a client process, so that the frame counts against
 * the client's per-process limits, not the service's, and hands it over with
 * SCM_RIGHTS. Here the client is a child the example forks. make check compiles it.
 *
 *   cmabuf_client_example [pool]
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/cmabuf.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define FRAME (1920 * 1080 * 3 / 2)	/* one 1080p NV12 frame */

/* Sends fd over a unix socket (SCM_RIGHTS); recv_fd() receives it. */
static int send_fd(int sock, int fd)
{
	char data = 'f', control[CMSG_SPACE(sizeof(int))] = { 0 };
	struct iovec iov = { .iov_base = &data, .iov_len = 1 };
	struct msghdr msg = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = control, .msg_controllen = sizeof(control),
	};
	struct cmsghdr *cmsg = CMSG_FIRSTHDR(&msg);

	cmsg->cmsg_level = SOL_SOCKET;
	cmsg->cmsg_type = SCM_RIGHTS;
	cmsg->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cmsg), &fd, sizeof(int));
	return sendmsg(sock, &msg, 0) == 1 ? 0 : -1;
}

static int recv_fd(int sock)
{
	char data, control[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { .iov_base = &data, .iov_len = 1 };
	struct msghdr msg = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = control, .msg_controllen = sizeof(control),
	};
	struct cmsghdr *cmsg;
	int fd;

	if (recvmsg(sock, &msg, 0) != 1 || !(cmsg = CMSG_FIRSTHDR(&msg)) ||
	    cmsg->cmsg_type != SCM_RIGHTS)
		return -1;
	memcpy(&fd, CMSG_DATA(cmsg), sizeof(int));
	return fd;
}

/* The client: gets the frame, writes it, exits. */
static int client(int sock)
{
	int frame = recv_fd(sock);
	unsigned char *p;

	if (frame < 0)
		return 1;
	p = mmap(NULL, FRAME, PROT_READ | PROT_WRITE, MAP_SHARED, frame, 0);
	if (p == MAP_FAILED)
		return 1;
	memset(p, 0x80, FRAME);	/* grey */
	munmap(p, FRAME);
	close(frame);
	return 0;
}

int main(int argc, char **argv)
{
	const char *pool = argc > 1 ? argv[1] : "camera";
	struct cmabuf_alloc req = {
		.size = FRAME,
		.flags = CMABUF_CACHED | CMABUF_ALLOC_FOR_CLIENT,
		.fd_flags = O_RDWR | O_CLOEXEC,
	};
	int dev, sock[2], pidfd, status;
	char path[64];
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sock))
		return 1;
	pid = fork();
	if (pid == 0)
		_exit(client(sock[1]));
	snprintf(path, sizeof(path), "/dev/cmabuf-%s", pool);
	dev = open(path, O_RDWR | O_CLOEXEC);
	/* A pidfd names the client for as long as it lives, unlike its pid number. */
	pidfd = syscall(SYS_pidfd_open, pid, 0);
	req.client_pidfd = pidfd;
	/*
	 * EPERM: the service may not signal the client (another uid) and lacks
	 * CAP_SYS_RESOURCE; ESRCH: the client has exited; EDQUOT: the client's limit.
	 */
	if (dev < 0 || pidfd < 0 || ioctl(dev, CMABUF_IOC_ALLOC, &req)) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		return 1;
	}
	printf("buffer %u: %d bytes for pid %d, charged to it\n", req.id, FRAME, pid);
	if (send_fd(sock[0], req.fd))
		return 1;
	close(req.fd);		/* the client holds it now */
	close(pidfd);
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status))
		return 1;
	printf("the client wrote its frame and exited\n");
	close(dev);
	return 0;
}
